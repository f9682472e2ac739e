// Detector, registry, native bytes and ONNX export. Fit and scoring release the GIL.
#include <memory>

#include <pybind11/stl.h>

#include "common.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/export.hpp"
#include "nomaly/persistence/native_format.hpp"
#include "nomaly/registry.hpp"

namespace nomaly::py {

namespace {

json algorithms_json() {
  json out = json::array();
  for (const auto& a : list_algorithms()) {
    json params = json::array();
    for (const auto& p : a.params) params.push_back({{"name", p.name}, {"default", p.default_value}, {"type", p.type}, {"help", p.help}});
    out.push_back({{"name", a.name}, {"summary", a.summary}, {"reference", a.reference}, {"deep", a.deep},
                   {"available", a.available}, {"unavailable_reason", a.unavailable_reason},
                   {"onnx_export", has_onnx_converter(a.name)}, {"params", params}});
  }
  return out;
}

DetectorEntity entity_of(std::shared_ptr<Detector> det, const std::vector<std::string>& names, const std::string& id,
                         const std::string& name) {
  DetectorEntity e = DetectorEntity::make(std::move(det), name, id);
  e.feature_names = names;
  return e;
}

}  // namespace

void bind_detector(pyb::module_& m) {
  pyb::class_<Detector, std::shared_ptr<Detector>>(m, "Detector")
      .def_property_readonly("algorithm", &Detector::algorithm)
      .def_property_readonly("params_json", [](const Detector& d) { return d.params().dump(); })
      .def_property_readonly("is_fitted", &Detector::is_fitted)
      .def_property_readonly("n_features", &Detector::n_features)
      .def_property_readonly("threshold", &Detector::threshold)
      .def("fit",
           [](Detector& d, const pyb::handle& arg) {
             const FloatMatrix X = matrix_arg(arg, "X");
             const MatrixView v = view_of(X);
             pyb::gil_scoped_release release;
             d.fit(v);
           })
      .def("score_samples",
           [](const Detector& d, const pyb::handle& arg) {
             const FloatMatrix X = matrix_arg(arg, "X");
             const MatrixView v = view_of(X);
             std::vector<float> s;
             {
               pyb::gil_scoped_release release;
               s = d.score_samples(v);
             }
             return to_float64(s);
           })
      .def("training_scores", [](const Detector& d) { return to_float64(d.training_scores()); })
      .def("native_bytes",
           [](std::shared_ptr<Detector> d, const std::vector<std::string>& names, const std::string& id, const std::string& name) {
             return pyb::bytes(encode_native_entity(entity_of(std::move(d), names, id, name)));
           })
      .def("to_onnx", [](const Detector& d, const std::vector<std::string>& names, const std::string& id, const std::string& name) {
        ExportInfo info;
        info.detector_id = id;
        info.detector_name = name.empty() ? d.algorithm() : name;
        info.feature_names = names;
        std::string bytes;
        {
          pyb::gil_scoped_release release;
          bytes = export_onnx_bytes(d, info);
        }
        return pyb::bytes(bytes);
      });

  m.def("algorithms_json", [] { return algorithms_json().dump(); });
  m.def("create_detector", [](const std::string& name, const std::string& params_json) -> std::shared_ptr<Detector> {
    return create_detector(name, parse_json_arg(params_json, name + " parameters"));
  });
  // Native bytes -> (fitted detector, entity JSON without the model).
  m.def("from_native_bytes", [](const pyb::handle& b, const pyb::handle& name_arg) {
    const std::string name = str_arg(name_arg, "name");
    DetectorEntity e = decode_native_entity(bytes_arg(b, "data"), name);
    if (!e.model) throw CorruptModel(name + ": holds no fitted model");
    return pyb::make_tuple(e.model, e.to_json().dump());
  });
}

}  // namespace nomaly::py
