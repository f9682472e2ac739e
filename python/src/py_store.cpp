// ModelPersistenceService over the CLI's store layout, loaded scorers, and ONNX Runtime models.
#include <filesystem>
#include <memory>

#include <pybind11/stl.h>

#include "common.hpp"
#include "nomaly/errors.hpp"
#include "nomaly/onnx/onnx_model.hpp"
#include "nomaly/persistence/service.hpp"

namespace nomaly::py {

namespace {

// The service with the store-backed repository, exactly as the CLI opens a store (src/cli/store_commands.cpp).
struct Store {
  std::shared_ptr<StoreDetectorRepository> repo;
  std::unique_ptr<ModelPersistenceService> service;
  explicit Store(const std::string& root)
      : repo(std::make_shared<StoreDetectorRepository>(root)), service(std::make_unique<ModelPersistenceService>(repo, root)) {}
};

json info_json(const ModelInfo& i) {
  return {{"detector_id", i.detector_id}, {"name", i.name}, {"algorithm", i.algorithm}, {"parameters", i.parameters},
          {"contamination", i.contamination}, {"threshold", i.threshold}, {"n_features", i.n_features},
          {"feature_names", i.feature_names}, {"trained_at", i.trained_at}, {"format", i.format}, {"stub", i.stub},
          {"metadata", i.metadata}};
}

json onnx_metadata_json(const OnnxModel& model) {
  const OnnxMetadata& md = model.metadata();
  json io = json::object();
  for (const auto* list : {&model.inputs(), &model.outputs()}) {
    json arr = json::array();
    for (const auto& x : *list) arr.push_back({{"name", x.name}, {"type", x.type}, {"shape", x.shape}});
    io[list == &model.inputs() ? "inputs" : "outputs"] = arr;
  }
  const char* style = model.style() == OnnxStyle::Nomaly ? "nomaly" : model.style() == OnnxStyle::Skl2onnx ? "skl2onnx" : "single_output";
  return {{"props", md.props}, {"threshold", md.threshold ? json(*md.threshold) : json(nullptr)},
          {"feature_names", md.feature_names}, {"n_features", model.n_features()}, {"style", style},
          {"producer_name", md.producer_name}, {"ir_version", md.ir_version}, {"opsets", md.opsets}, {"io", io}};
}

pyb::tuple score_tuple(std::vector<float> scores, std::vector<int> labels) {
  return pyb::make_tuple(to_float64(scores), to_int64(labels));
}

}  // namespace

/// (scores, labels) of a Scorer or an OnnxModel, scored with the GIL released.
template <class Model>
pyb::tuple score_released(const Model& model, const pyb::handle& arg, std::size_t batch_size) {
  const FloatMatrix X = matrix_arg(arg, "X");
  const MatrixView v = view_of(X);
  auto r = [&] {
    pyb::gil_scoped_release release;
    return model.score(v, batch_size);
  }();
  return score_tuple(std::move(r.scores), std::move(r.labels));
}

void bind_store(pyb::module_& m) {
  pyb::class_<Scorer, std::shared_ptr<Scorer>>(m, "Scorer")
      .def_property_readonly("info_json", [](const Scorer& s) { return info_json(s.info()).dump(); })
      .def("score", &score_released<Scorer>);

  pyb::class_<OnnxModel, std::shared_ptr<OnnxModel>>(m, "OnnxModel")
      .def_static("load_file",
                  [](const std::string& path, int threads, std::size_t batch) {
                    pyb::gil_scoped_release release;
                    return std::make_shared<OnnxModel>(OnnxModel::load_file(path, {threads, batch}));
                  })
      .def_static("load_bytes",
                  [](const pyb::handle& b, const pyb::handle& name_arg, int threads, std::size_t batch) {
                    const std::string name = str_arg(name_arg, "name");
                    std::string bytes = bytes_arg(b, "data");
                    pyb::gil_scoped_release release;
                    return std::make_shared<OnnxModel>(OnnxModel::load_bytes(bytes, name, {threads, batch}));
                  })
      .def_property_readonly("metadata_json", [](const OnnxModel& o) { return onnx_metadata_json(o).dump(); })
      .def("score", &score_released<OnnxModel>);

  pyb::class_<Store, std::shared_ptr<Store>>(m, "Store")
      .def(pyb::init<const std::string&>())
      .def("register",
           [](Store& s, std::shared_ptr<Detector> det, const std::string& id, const std::string& name,
              const std::vector<std::string>& names, const std::string& metadata_json) {
             DetectorEntity e = DetectorEntity::make(std::move(det), name, id);
             e.feature_names = names;
             e.metadata = parse_json_arg(metadata_json, "metadata");
             s.repo->save(e);
             return e.id;
           })
      .def("find",
           [](const Store& s, const std::string& id) -> pyb::object {
             const auto e = s.repo->find(id);
             if (!e) return pyb::none();
             return pyb::make_tuple(e->model, e->to_json().dump());
           })
      .def("ids", [](const Store& s) { return s.repo->ids(); })
      .def("unregister", [](Store& s, const std::string& id) { return s.repo->remove(id); })
      .def("save_model",
           [](Store& s, const std::string& id, const std::string& format, const std::string& metadata_json, bool strict) {
             SaveOptions o;
             o.strict_onnx = strict;
             const json md = parse_json_arg(metadata_json, "metadata");
             pyb::gil_scoped_release release;
             return s.service->save_model(id, format, md, o).string();
           })
      .def("load_model",
           [](const Store& s, const std::string& id, const std::string& format, int threads, std::size_t batch) {
             pyb::gil_scoped_release release;
             return s.service->load_model(id, parse_format(format), {threads, batch});
           })
      .def("export_model",
           [](Store& s, const std::string& id, const std::string& dir, bool triton) {
             ExportOptions o;
             o.triton = triton;
             std::map<std::string, std::filesystem::path> files;
             {
               pyb::gil_scoped_release release;
               files = s.service->export_model(id, dir, o);
             }
             std::map<std::string, std::string> out;
             for (const auto& [rel, path] : files) out[rel] = path.string();
             return out;
           })
      .def("list_saved_models_json",
           [](const Store& s) {
             json out = json::object();
             for (const auto& [id, md] : s.service->list_saved_models()) out[id] = md;
             return out.dump();
           })
      .def("delete_model", [](Store& s, const std::string& id) { return s.service->delete_model(id); });

  m.def("open_model_path", [](const std::string& path, int threads, std::size_t batch) {
    pyb::gil_scoped_release release;
    return open_model_path(path, {threads, batch});
  });
}

}  // namespace nomaly::py
