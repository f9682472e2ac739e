# Run after nomaly_tests is built: lists its GoogleTest suites and writes one CTest entry per suite.
# One process per suite (not per test) keeps the suite fast: each process start loads libtorch and ONNX Runtime.
# Inputs: TEST_EXE, OUT_FILE.
execute_process(COMMAND "${TEST_EXE}" --gtest_list_tests OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "listing tests of ${TEST_EXE} failed (${rc})")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(content "")
foreach(line IN LISTS lines)
  if(line MATCHES "^([^ #][^ ]*)\\.( |$)")
    set(suite "${CMAKE_MATCH_1}")
    string(APPEND content "add_test([=[${suite}]=] \"${TEST_EXE}\" [=[--gtest_filter=${suite}.*]=])\n")
    string(APPEND content "set_tests_properties([=[${suite}]=] PROPERTIES TIMEOUT 900)\n")
  endif()
endforeach()
file(WRITE "${OUT_FILE}" "${content}")
