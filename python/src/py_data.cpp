// User data: the core CSV reader (the one the CLI and the server use) and column selection by feature name.
#include <pybind11/stl.h>

#include "common.hpp"
#include "nomaly/columns.hpp"
#include "nomaly/csv.hpp"

namespace nomaly::py {

void bind_data(pyb::module_& m) {
  // (X float32 rows x cols, feature names, labels int64 or None), parsed exactly as `nomaly detect --input`.
  m.def("read_csv", [](const std::string& path, const std::string& label_column) {
    CsvOptions o;
    o.label_column = label_column;
    Dataset d;
    {
      pyb::gil_scoped_release release;
      d = read_csv(path, o);
    }
    FloatMatrix X({static_cast<pyb::ssize_t>(d.rows), static_cast<pyb::ssize_t>(d.cols)});
    std::copy(d.X.begin(), d.X.end(), X.mutable_data());
    pyb::object labels = d.labels ? pyb::object(to_int64(*d.labels)) : pyb::object(pyb::none());
    return pyb::make_tuple(X, d.feature_names, labels);
  });
  // The columns to take from named data, by nomaly::select_features (None = use the data as it is).
  m.def("select_columns", [](const std::vector<std::string>& data_names, const std::vector<std::string>& model_names,
                             const std::string& source) -> pyb::object {
    Dataset probe;  // zero rows: only the names are matched, no values are copied
    probe.cols = data_names.size();
    probe.feature_names = data_names;
    const Dataset out = select_features(std::move(probe), model_names, false, source);
    if (out.feature_names == data_names) return pyb::none();
    return pyb::cast(out.feature_names);
  });
}

}  // namespace nomaly::py
