// The _nomaly extension: thin pybind11 bindings over the C++ core. The Python package (python/nomaly/) holds
// the PyOD/sklearn-shaped classes, input validation and the exception classes this module raises.
#include <filesystem>
#include <pybind11/pybind11.h>

#include "common.hpp"
#include "nomaly/errors.hpp"

namespace nomaly::py {

MatrixView view_of(const FloatMatrix& X) {
  if (X.ndim() != 2) throw DataError("expected a 2-D array, got " + std::to_string(X.ndim()) + "-D");
  return {X.data(), static_cast<std::size_t>(X.shape(0)), static_cast<std::size_t>(X.shape(1))};
}

pyb::array_t<double> to_float64(const std::vector<float>& v) {
  pyb::array_t<double> out(static_cast<pyb::ssize_t>(v.size()));
  double* p = out.mutable_data();
  for (std::size_t i = 0; i < v.size(); ++i) p[i] = v[i];
  return out;
}

pyb::array_t<std::int64_t> to_int64(const std::vector<int>& v) {
  pyb::array_t<std::int64_t> out(static_cast<pyb::ssize_t>(v.size()));
  std::int64_t* p = out.mutable_data();
  for (std::size_t i = 0; i < v.size(); ++i) p[i] = v[i];
  return out;
}

namespace {

[[noreturn]] void wrong_arg(const char* what, const char* expected, const pyb::handle& h) {
  throw pyb::type_error(std::string(what) + ": expected " + expected + ", got " + Py_TYPE(h.ptr())->tp_name);
}

}  // namespace

std::string bytes_arg(const pyb::handle& h, const char* what) {
  if (PyBytes_Check(h.ptr())) return std::string(pyb::reinterpret_borrow<pyb::bytes>(h));
  if (!PyByteArray_Check(h.ptr()) && !PyMemoryView_Check(h.ptr())) wrong_arg(what, "bytes", h);
  return std::string(pyb::reinterpret_steal<pyb::bytes>(PyBytes_FromObject(h.ptr())));
}

std::string str_arg(const pyb::handle& h, const char* what) {
  if (!PyUnicode_Check(h.ptr())) wrong_arg(what, "str", h);
  return h.cast<std::string>();
}

FloatMatrix matrix_arg(const pyb::handle& h, const char* what) {
  FloatMatrix X = FloatMatrix::ensure(h);
  if (!X) wrong_arg(what, "a 2-D float32 array", h);
  return X;
}

json parse_json_arg(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw ParameterError(what + ": not valid JSON: " + e.what());
  }
}

namespace {

// Raises nomaly.errors.<name> (a Python class, so NotFittedError can subclass sklearn's) with the C++ message.
void raise_as(const char* name, const std::string& message) {
  const pyb::object cls = pyb::module_::import("nomaly.errors").attr(name);
  PyErr_SetString(cls.ptr(), message.c_str());
}

void raise_as(const char* name, const std::exception& e) { raise_as(name, std::string(e.what())); }

}  // namespace

void bind_errors(pyb::module_&) {
  // Most derived first: each C++ type maps to the Python class of the same name (docs/python.md, "Errors").
  pyb::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const DataError& e) {  // CsvError included
      raise_as("DataError", e);
    } catch (const ParameterError& e) {
      raise_as("ParameterError", e);
    } catch (const FlagError& e) {
      raise_as("ParameterError", e);
    } catch (const InvalidDetectorId& e) {
      raise_as("InvalidDetectorId", e);
    } catch (const NotFitted& e) {
      raise_as("NotFitted", e);
    } catch (const NotFittedError& e) {
      raise_as("NotFittedError", e);
    } catch (const OnnxExportError& e) {
      raise_as("OnnxExportError", e);
    } catch (const OnnxModelError& e) {
      raise_as("OnnxModelError", e);
    } catch (const CorruptModel& e) {
      raise_as("CorruptModel", e);
    } catch (const DetectorNotFound& e) {
      raise_as("DetectorNotFound", e);
    } catch (const UnknownFormat& e) {
      raise_as("UnknownFormat", e);
    } catch (const NoSavedModel& e) {
      raise_as("NoSavedModel", e);
    } catch (const FeatureDisabled& e) {
      raise_as("FeatureDisabled", e);
    } catch (const DependencyMissing& e) {
      raise_as("DependencyMissing", e);
    } catch (const ModelError& e) {
      raise_as("ModelError", e);
    } catch (const IoError& e) {
      raise_as("IoError", e);
    } catch (const Error& e) {
      raise_as("NomalyError", e);
    } catch (const std::filesystem::filesystem_error& e) {
      // A read-only or missing store folder reaches here from std::filesystem: typed, with the path in the message.
      raise_as("IoError", e);
    } catch (const pyb::builtin_exception&) {
      throw;  // pybind's own (TypeError, ...), translated by pybind
    } catch (const pyb::error_already_set&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw;  // MemoryError
    } catch (const std::exception& e) {
      // Foreign exceptions (libtorch, ORT) can carry multi-line stack dumps: the first line, as a ModelError
      // (a RuntimeError), as the CLI reports them with exit 4.
      const std::string what = e.what();
      raise_as("ModelError", what.substr(0, what.find('\n')));
    }
  });
}

}  // namespace nomaly::py

PYBIND11_MODULE(_nomaly, m) {
  m.doc() = "nomaly C++ core (use the `nomaly` package, not this module)";
  m.attr("version") = NOMALY_VERSION;
  m.attr("with_torch") = static_cast<bool>(NOMALY_WITH_TORCH);
  nomaly::py::bind_errors(m);
  nomaly::py::bind_detector(m);
  nomaly::py::bind_store(m);
  nomaly::py::bind_data(m);
}
