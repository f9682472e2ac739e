// Shared helpers of the _nomaly extension: numpy <-> MatrixView and JSON <-> Python via json strings.
#pragma once

#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "nomaly/dataset.hpp"
#include "nomaly/params.hpp"

namespace nomaly::py {

namespace pyb = pybind11;
/// The Python layer hands over float32 C-contiguous 2-D arrays (nomaly/_validation.py); forcecast never copies those.
using FloatMatrix = pyb::array_t<float, pyb::array::c_style | pyb::array::forcecast>;

// Arguments that may be large (model bytes, matrices) are taken as pyb::handle and converted here: pybind's own
// mismatch message prints repr() of every argument, i.e. a whole model's bytes. These raise a short TypeError.
/// bytes, bytearray or memoryview -> its bytes.
std::string bytes_arg(const pyb::handle& h, const char* what);
/// str -> UTF-8 text.
std::string str_arg(const pyb::handle& h, const char* what);
/// Anything numpy converts to a float32 C-contiguous array (no copy when it already is one).
FloatMatrix matrix_arg(const pyb::handle& h, const char* what);

/// A view over a validated 2-D float32 array (no copy). The array must outlive the view.
MatrixView view_of(const FloatMatrix& X);
/// float32 scores -> a new float64 numpy array (the dtype PyOD's decision_function returns). Needs the GIL.
pyb::array_t<double> to_float64(const std::vector<float>& v);
/// int labels -> a new int64 numpy array. Needs the GIL.
pyb::array_t<std::int64_t> to_int64(const std::vector<int>& v);
/// Parses a JSON string from Python (json.dumps) into nlohmann::json; ParameterError when it does not parse.
json parse_json_arg(const std::string& text, const std::string& what);

void bind_errors(pyb::module_& m);
void bind_detector(pyb::module_& m);
void bind_store(pyb::module_& m);
void bind_data(pyb::module_& m);

}  // namespace nomaly::py
