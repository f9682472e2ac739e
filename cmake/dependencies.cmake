# Libraries shared by the main build and the fuzz build (fuzz/CMakeLists.txt): Debian packages plus an
# imported `onnxruntime` target over the ONNX Runtime SDK that scripts/setup.sh provisions.
set(ONNXRUNTIME_ROOT "$ENV{HOME}/.cache/nomaly/onnxruntime-1.29.0" CACHE PATH
    "ONNX Runtime SDK (include/ and lib/); scripts/setup.sh provisions it, an official release tree works too")

find_package(ONNX REQUIRED)
find_package(Protobuf REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(Eigen3 REQUIRED NO_MODULE)
find_package(TBB REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(spdlog REQUIRED)
find_package(nanoflann REQUIRED)
find_package(Threads REQUIRED)
find_library(SVM_LIBRARY NAMES svm REQUIRED)
find_path(SVM_INCLUDE_DIR NAMES libsvm/svm.h REQUIRED)

find_path(ORT_INCLUDE_DIR onnxruntime_cxx_api.h
  PATHS "${ONNXRUNTIME_ROOT}/include" "${ONNXRUNTIME_ROOT}/include/onnxruntime" NO_DEFAULT_PATH REQUIRED)
find_library(ORT_LIBRARY NAMES onnxruntime libonnxruntime.so.1
  PATHS "${ONNXRUNTIME_ROOT}/lib" NO_DEFAULT_PATH REQUIRED)
add_library(onnxruntime SHARED IMPORTED)
set_target_properties(onnxruntime PROPERTIES IMPORTED_LOCATION "${ORT_LIBRARY}"
  IMPORTED_NO_SONAME FALSE INTERFACE_INCLUDE_DIRECTORIES "${ORT_INCLUDE_DIR}")
get_filename_component(ORT_LIB_DIR "${ORT_LIBRARY}" DIRECTORY)
set(CMAKE_BUILD_RPATH "${ORT_LIB_DIR}")
set(CMAKE_INSTALL_RPATH "${ORT_LIB_DIR}")
