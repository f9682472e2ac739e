// Typed errors for every layer of nomaly.
//
// Every error derives from nomaly::Error and carries the CLI exit code it maps to
// (0 ok, 2 usage, 3 bad data, 4 model error, 5 output not written). Messages name the file, line, column or
// field at fault, so a user can fix the input without a debugger.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace nomaly {

/// CLI exit codes (documented in README and `nomaly --help`).
enum class ExitCode : int { Ok = 0, Usage = 2, BadData = 3, ModelError = 4, Io = 5 };

/// Base of every nomaly error.
class Error : public std::runtime_error {
 public:
  Error(const std::string& what, ExitCode code) : std::runtime_error(what), code_(code) {}
  ExitCode exit_code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

// ---- usage / parameters (exit 2) ------------------------------------------------------------
/// A parameter name is unknown, or its value has the wrong type or range. Names the parameter.
class ParameterError : public Error {
 public:
  explicit ParameterError(const std::string& what) : Error(what, ExitCode::Usage) {}
};

/// An environment flag (e.g. NOMALY_DEEP_LEARNING) holds a value that is not a boolean.
class FlagError : public Error {
 public:
  explicit FlagError(const std::string& what) : Error(what, ExitCode::Usage) {}
};

// ---- data (exit 3) --------------------------------------------------------------------------
/// Bad input data: wrong width, NaN/inf, too few rows. Names the row/column when known.
class DataError : public Error {
 public:
  explicit DataError(const std::string& what) : Error(what, ExitCode::BadData) {}
};

/// A CSV file could not be parsed. `line` and `column` are 1-based; 0 means "not applicable".
class CsvError : public DataError {
 public:
  CsvError(const std::string& file, std::size_t line, std::size_t column, const std::string& reason)
      : DataError(format(file, line, column, reason)), file_(file), line_(line), column_(column) {}
  const std::string& file() const noexcept { return file_; }
  std::size_t line() const noexcept { return line_; }
  std::size_t column() const noexcept { return column_; }

 private:
  static std::string format(const std::string& f, std::size_t l, std::size_t c, const std::string& r) {
    // append() rather than operator+: GCC 12 reports a false -Wrestrict on chained string concatenation.
    std::string s;
    s.append(f);
    if (l) s.append(":").append(std::to_string(l));
    if (c) s.append(":").append(std::to_string(c));
    s.append(": ").append(r);
    return s;
  }
  std::string file_;
  std::size_t line_, column_;
};

// ---- output (exit 5) ------------------------------------------------------------------------
/// An output file or folder could not be written (missing folder, no permission, disk full), or an output path
/// names an input. Not bad data: the input was fine. Names the path.
class IoError : public Error {
 public:
  explicit IoError(const std::string& what) : Error(what, ExitCode::Io) {}
};

// ---- models (exit 4) ------------------------------------------------------------------------
/// Base of model-related errors.
class ModelError : public Error {
 public:
  explicit ModelError(const std::string& what) : Error(what, ExitCode::ModelError) {}

 protected:
  ModelError(const std::string& what, ExitCode code) : Error(what, code) {}
};

/// score_samples/predict/save called on a detector that has not been fitted.
class NotFittedError : public ModelError {
 public:
  explicit NotFittedError(const std::string& what) : ModelError(what) {}
};

/// A fitted detector could not be converted to ONNX (no converter, checker or shape inference failed).
class OnnxExportError : public ModelError {
 public:
  explicit OnnxExportError(const std::string& what) : ModelError(what) {}
};

/// An ONNX model could not be loaded or run (corrupt bytes, unknown I/O layout, ORT failure).
class OnnxModelError : public ModelError {
 public:
  explicit OnnxModelError(const std::string& what) : ModelError(what) {}
};

/// A saved model file is damaged: checksum mismatch, truncation, wrong magic, newer format version.
class CorruptModel : public ModelError {
 public:
  explicit CorruptModel(const std::string& what) : ModelError(what) {}
};

/// The repository holds no detector with this id: "Detector {id} not found".
class DetectorNotFound : public ModelError {
 public:
  explicit DetectorNotFound(const std::string& what) : ModelError(what) {}
};

/// save_model on an unfitted detector: "Detector {name} is not fitted".
class NotFitted : public ModelError {
 public:
  explicit NotFitted(const std::string& what) : ModelError(what) {}
};

/// A model format name that nomaly does not know. A usage error (exit 2): nothing was read or written.
class UnknownFormat : public ModelError {
 public:
  explicit UnknownFormat(const std::string& what) : ModelError(what, ExitCode::Usage) {}
};

/// load_model for an id with no saved directory: "No saved model found for detector {id}".
class NoSavedModel : public ModelError {
 public:
  explicit NoSavedModel(const std::string& what) : ModelError(what) {}
};

/// A detector id that is neither a UUID v4 nor 1-64 characters of [A-Za-z0-9_.-] (no leading '.', no '..'). A usage error (exit 2): nothing was read.
class InvalidDetectorId : public Error {
 public:
  explicit InvalidDetectorId(const std::string& what) : Error(what, ExitCode::Usage) {}
};

/// A command would replace or delete something nomaly did not write, or a different model: an export
/// folder holding the user's files, `train --id X` over another fit. Nothing was changed; `--force` /
/// `--overwrite` (ExportOptions::force / SaveOptions::overwrite) allow it. A usage error (exit 2).
class RefusedOverwrite : public ModelError {
 public:
  explicit RefusedOverwrite(const std::string& what) : ModelError(what, ExitCode::Usage) {}
};

/// A feature is switched off by a flag, e.g. NOMALY_DEEP_LEARNING=false.
class FeatureDisabled : public ModelError {
 public:
  explicit FeatureDisabled(const std::string& what) : ModelError(what) {}
};

/// The build lacks an optional component, e.g. libtorch for the deep detectors.
class DependencyMissing : public ModelError {
 public:
  explicit DependencyMissing(const std::string& what) : ModelError(what) {}
};

}  // namespace nomaly
