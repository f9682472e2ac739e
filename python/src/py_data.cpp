// User data: the core CSV reader (the one the CLI and the server use) and column selection by feature name.
#include <pybind11/stl.h>

#include <optional>

#include "common.hpp"
#include "nomaly/columns.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/table.hpp"

namespace nomaly::py {

void bind_data(pyb::module_& m) {
  // (X float32 rows x cols, feature names, labels int64 or None, ids), parsed by read_table exactly as
  // `nomaly detect --input` (label_column None: found by name as the CLI does; "": no label).
  m.def("read_table", [](const std::string& path, const std::optional<std::string>& label_column,
                         const std::string& id_column, const std::vector<std::string>& columns,
                         const std::vector<std::string>& drop, const std::string& sep, bool header) {
    TableOptions o;
    o.label_column = label_column;
    o.id_column = id_column;
    o.columns = columns;
    o.drop = drop;
    o.header = header;
    if (sep == "tab" || sep == "\t") o.sep = '\t';
    else if (sep.size() == 1) o.sep = sep[0];
    else throw ParameterError("sep must be one character or 'tab', got '" + sep + "'");
    Table t;
    {
      pyb::gil_scoped_release release;
      t = read_table(path, o);
    }
    const Dataset& d = t.data;
    FloatMatrix X({static_cast<pyb::ssize_t>(d.rows), static_cast<pyb::ssize_t>(d.cols)});
    std::copy(d.X.begin(), d.X.end(), X.mutable_data());
    pyb::object labels = d.labels ? pyb::object(to_int64(*d.labels)) : pyb::object(pyb::none());
    return pyb::make_tuple(X, d.feature_names, labels, t.ids);
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
