// ModelPersistenceService: the seed's suite (issue 4 §8) plus score parity for both formats.
#include <cstring>
#include <regex>
#include <set>

#include "nomaly/flags.hpp"
#include "test_persistence_util.hpp"

namespace nomaly::test {
namespace {

namespace fs = std::filesystem;

class PersistenceService : public ::testing::Test {
 protected:
  void SetUp() override {
    repo = std::make_shared<InMemoryDetectorRepository>();
    service = std::make_unique<ModelPersistenceService>(repo, tmp.path / "store");
    data = synthetic(300, 5, 15, 11);
  }
  DetectorEntity add(const std::string& algorithm, const std::string& name, const json& params = json::object(),
                     const std::string& id = "") {
    DetectorEntity e = fitted_entity(algorithm, data, params, name, id);
    repo->save(e);
    return e;
  }
  TempDir tmp;
  std::shared_ptr<InMemoryDetectorRepository> repo;
  std::unique_ptr<ModelPersistenceService> service;
  Dataset data;
};

TEST_F(PersistenceService, SaveOnnxWritesModelOnnxAndCorrectMetadata) {
  const auto e = add("iforest", "fraud-forest", small_iforest_params());
  const fs::path p = service->save_model(e.id, Format::Onnx);
  EXPECT_EQ(p, tmp.path / "store" / e.id / "model.onnx");
  ASSERT_TRUE(fs::exists(p));
  EXPECT_FALSE(is_onnx_stub(read_bytes(p)));
  const json m = json::parse(read_bytes(p.parent_path() / "metadata.json"));
  EXPECT_EQ(m["detector_id"], e.id);
  EXPECT_EQ(m["detector_name"], "fraud-forest");
  EXPECT_EQ(m["algorithm"], "iforest");
  EXPECT_EQ(m["format"], "onnx");
  EXPECT_EQ(m["is_fitted"], true);
  EXPECT_EQ(m["parameters"], e.model->params());
  EXPECT_EQ(m["nomaly_version"], NOMALY_VERSION);
  EXPECT_TRUE(std::regex_match(m["saved_at"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  EXPECT_EQ(m["sha256"], sha256_file_hex(p));
  EXPECT_EQ(m["size"].get<std::uintmax_t>(), fs::file_size(p));
  EXPECT_EQ(m["opset"], 17);
  EXPECT_EQ(m["ir_version"], 8);
  EXPECT_EQ(m["stub"], false);
  EXPECT_FLOAT_EQ(m["threshold"].get<float>(), e.model->threshold());
  EXPECT_TRUE(leftover_files(p.parent_path()).empty());
}

TEST_F(PersistenceService, SaveNativeWritesEnvelopeAndMetadata) {
  const auto e = add("iforest", "native-forest", small_iforest_params());
  const fs::path p = service->save_model(e.id);
  EXPECT_EQ(p.filename(), "model.nomaly");
  const std::string bytes = read_bytes(p);
  ASSERT_GE(bytes.size(), kNativeHeaderSize);
  EXPECT_EQ(std::memcmp(bytes.data(), kNativeMagic, 8), 0);
  const json m = json::parse(read_bytes(p.parent_path() / "metadata.json"));
  EXPECT_EQ(m["format"], "native");
  EXPECT_EQ(m["sha256"], sha256_hex(bytes));
  EXPECT_FALSE(m.contains("opset"));  // ONNX-only fields
}

TEST_F(PersistenceService, LoadSucceedsInBothFormats) {
  const auto e = add("iforest", "loader", small_iforest_params());
  service->save_model(e.id, Format::Onnx);
  service->save_model(e.id, Format::Native);
  const auto onnx = service->load_model(e.id, Format::Onnx);
  const auto native = service->load_model(e.id, Format::Native);
  ASSERT_TRUE(onnx && native);
  EXPECT_NE(onnx->onnx(), nullptr);
  EXPECT_NE(native->native(), nullptr);
  EXPECT_EQ(onnx->info().n_features, 5u);
  EXPECT_EQ(native->info().n_features, 5u);
}

// Bug (break test): a new fit saved under an existing id left the old fit's model.onnx, and `score -f onnx`
// served the old detector under the new metadata. Files of a replaced fit are dropped; same-fit saves keep both.
TEST_F(PersistenceService, NewFitUnderAnExistingIdDropsTheOldFitsFiles) {
  const auto knn = add("knn", "same-id", json::object(), "same-id");
  service->save_model("same-id", Format::Onnx);
  service->save_model("same-id", Format::Native);  // same fit: both formats stay
  const fs::path dir = tmp.path / "store" / "same-id";
  ASSERT_TRUE(fs::exists(dir / "model.onnx") && fs::exists(dir / "model.nomaly"));
  EXPECT_NO_THROW(service->load_model("same-id", Format::Onnx));

  const auto forest = add("iforest", "same-id", small_iforest_params(), "same-id");  // a new fit, same id
  SaveOptions refuse;
  refuse.overwrite = false;
  EXPECT_THROW(service->save_model("same-id", Format::Native, json::object(), refuse), RefusedOverwrite);
  SaveOptions overwrite;
  overwrite.overwrite = true;
  service->save_model("same-id", Format::Native, json::object(), overwrite);
  EXPECT_FALSE(fs::exists(dir / "model.onnx")) << "the knn ONNX must not survive beside the iforest";
  try {
    service->load_model("same-id", Format::Onnx);
    FAIL() << "the replaced fit's ONNX must not load";
  } catch (const NoSavedModel& e) {
    EXPECT_NE(std::string(e.what()).find("in format onnx"), std::string::npos) << e.what();
  }
  const auto native = service->load_model("same-id", Format::Native);
  EXPECT_EQ(native->info().algorithm, "iforest");
  const auto want = forest.model->score_samples(data.view());
  EXPECT_EQ(native->score(data.view()).scores, want);
  const json m = json::parse(read_bytes(dir / "metadata.json"));
  EXPECT_FALSE(m["files"].contains("model.onnx"));
  EXPECT_TRUE(m.contains("fit_sha256"));

  // A model file that metadata.json does not list (left by a crash or copied in) is refused, not loaded unchecked.
  const auto other = add("iforest", "other", small_iforest_params(), "other");
  write_bytes(dir / "model.onnx", read_bytes(service->save_model("other", Format::Onnx)));
  try {
    service->load_model("same-id", Format::Onnx);
    FAIL() << "an unlisted model.onnx must not load";
  } catch (const NoSavedModel& e) {
    EXPECT_NE(std::string(e.what()).find("is not recorded in metadata.json"), std::string::npos) << e.what();
  }
}

TEST_F(PersistenceService, LoadUnknownIdFailsWithExactMessage) {
  try {
    service->load_model("nonexistent-detector");
    FAIL() << "expected NoSavedModel";
  } catch (const NoSavedModel& ex) {
    EXPECT_STREQ(ex.what(), "No saved model found for detector nonexistent-detector");
  }
  const auto e = add("iforest", "only-native", small_iforest_params());
  service->save_model(e.id, Format::Native);
  try {
    service->load_model(e.id, Format::Onnx);
    FAIL() << "expected NoSavedModel";
  } catch (const NoSavedModel& ex) {
    EXPECT_EQ(std::string(ex.what()), "No saved model found for detector " + e.id + " in format onnx");
  }
}

TEST_F(PersistenceService, RoundTripKeepsNameAlgorithmAndCustomMetadata) {
  const auto e = add("iforest", "payments-v2", small_iforest_params());
  const json custom{{"owner", "risk-team"}, {"ticket", 4711}, {"tags", {"prod", "eu"}}};
  for (Format f : {Format::Onnx, Format::Native}) {
    service->save_model(e.id, f, custom);
    const auto s = service->load_model(e.id, f);
    EXPECT_EQ(s->info().name, "payments-v2");
    EXPECT_EQ(s->info().algorithm, "iforest");
    EXPECT_EQ(s->info().detector_id, e.id);
    EXPECT_EQ(s->info().parameters, e.model->params());
    EXPECT_EQ(s->info().contamination, e.model->contamination());
    EXPECT_EQ(s->info().threshold, e.model->threshold());
    EXPECT_EQ(s->info().feature_names, data.feature_names);
    EXPECT_EQ(s->info().metadata["owner"], "risk-team");
    EXPECT_EQ(s->info().metadata["ticket"], 4711);
    EXPECT_EQ(s->info().metadata["tags"], custom["tags"]);
  }
}

TEST_F(PersistenceService, CallerMetadataCannotOverwriteIntegrityFields) {
  const auto e = add("iforest", "guarded", small_iforest_params());
  const fs::path p = service->save_model(
      e.id, Format::Native,
      json{{"sha256", "0000"}, {"size", 1}, {"detector_id", "evil"}, {"format", "onnx"}, {"note", "kept"}});
  const json m = json::parse(read_bytes(p.parent_path() / "metadata.json"));
  EXPECT_EQ(m["sha256"], sha256_file_hex(p));
  EXPECT_EQ(m["size"].get<std::uintmax_t>(), fs::file_size(p));
  EXPECT_EQ(m["detector_id"], e.id);
  EXPECT_EQ(m["format"], "native");
  EXPECT_EQ(m["note"], "kept");
  EXPECT_NO_THROW(service->load_model(e.id));
}

TEST_F(PersistenceService, SaveUnfittedDetectorFails) {
  DetectorEntity e = DetectorEntity::make(std::shared_ptr<Detector>(create_detector("iforest")), "not-yet", "unfitted-1");
  repo->save(e);
  try {
    service->save_model("unfitted-1", Format::Native);
    FAIL() << "expected NotFitted";
  } catch (const NotFitted& ex) {
    EXPECT_STREQ(ex.what(), "Detector not-yet is not fitted");
  }
  EXPECT_FALSE(fs::exists(tmp.path / "store" / "unfitted-1"));
}

TEST_F(PersistenceService, SaveNonExistentDetectorFails) {
  try {
    service->save_model("ghost", Format::Onnx);
    FAIL() << "expected DetectorNotFound";
  } catch (const DetectorNotFound& ex) {
    EXPECT_STREQ(ex.what(), "Detector ghost not found");
  }
  EXPECT_FALSE(fs::exists(tmp.path / "store"));
}

TEST_F(PersistenceService, ChecksRunInOrderIdThenFittedThenFormat) {
  EXPECT_THROW(service->save_model("ghost", "pickle"), DetectorNotFound);
  repo->save(DetectorEntity::make(std::shared_ptr<Detector>(create_detector("iforest")), "raw", "raw-1"));
  EXPECT_THROW(service->save_model("raw-1", "pickle"), NotFitted);
  const auto e = add("iforest", "ok", small_iforest_params());
  try {
    service->save_model(e.id, "pickle");
    FAIL() << "expected UnknownFormat";
  } catch (const UnknownFormat& ex) {
    EXPECT_NE(std::string(ex.what()).find("pickle"), std::string::npos);
  }
  EXPECT_THROW(service->save_model(e.id, static_cast<Format>(42)), UnknownFormat);
  EXPECT_EQ(service->save_model(e.id, "ONNX").filename(), "model.onnx");
  EXPECT_FALSE(fs::exists(tmp.path / "store" / "raw-1"));
}

TEST_F(PersistenceService, ListIncludesOnnxModelsAndDeleteRemovesEverything) {
  const auto a = add("iforest", "a", small_iforest_params());
  const auto b = add(kCentroid, "b");
  service->save_model(a.id, Format::Onnx);
  service->save_model(b.id, Format::Native);
  const auto listed = service->list_saved_models();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed.at(a.id)["format"], "onnx");
  EXPECT_EQ(listed.at(a.id)["detector_name"], "a");
  EXPECT_EQ(listed.at(b.id)["format"], "native");

  const fs::path dir = tmp.path / "store" / a.id;
  ASSERT_TRUE(fs::exists(dir / "model.onnx"));
  EXPECT_TRUE(service->delete_model(a.id));
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(service->delete_model(a.id));
  EXPECT_EQ(service->list_saved_models().count(a.id), 0u);
  EXPECT_THROW(service->load_model(a.id, Format::Onnx), NoSavedModel);
  EXPECT_EQ(service->list_saved_models().size(), 1u);
}

TEST_F(PersistenceService, ErrorPathProducesLoadableStub) {
  const auto e = add(kCentroid, "custom-centroid");
  const fs::path p = service->save_model(e.id, Format::Onnx);
  const std::string bytes = read_bytes(p);
  ASSERT_TRUE(is_onnx_stub(bytes));
  const json stub = json::parse(bytes);
  EXPECT_EQ(stub["model_type"], "stub");
  EXPECT_EQ(stub["format"], "nomaly-onnx-stub/1");
  EXPECT_EQ(stub["detector_name"], "custom-centroid");
  EXPECT_EQ(stub["algorithm"], kCentroid);
  EXPECT_EQ(stub["parameters"], e.model->params());
  EXPECT_EQ(stub["native_model"], "model.nomaly");
  EXPECT_FALSE(stub["message"].get<std::string>().empty());
  ASSERT_TRUE(fs::exists(p.parent_path() / "model.nomaly"));
  EXPECT_EQ(stub["native_sha256"], sha256_file_hex(p.parent_path() / "model.nomaly"));
  const json m = json::parse(read_bytes(p.parent_path() / "metadata.json"));
  EXPECT_EQ(m["stub"], true);
  EXPECT_EQ(m["format"], "onnx");

  const auto s = service->load_model(e.id, Format::Onnx);
  ASSERT_NE(s->native(), nullptr);
  EXPECT_TRUE(s->native()->is_fitted());
  EXPECT_TRUE(s->info().stub);
  const auto got = s->score(data.view());
  EXPECT_EQ(got.scores, e.model->score_samples(data.view()));
  EXPECT_EQ(got.labels, e.model->predict(data.view()));

  // A native save afterwards keeps the stub pointing at the new native file.
  service->save_model(e.id, Format::Native);
  EXPECT_NO_THROW(service->load_model(e.id, Format::Onnx));
}

TEST_F(PersistenceService, StubIsRecognisedByContentNotExtension) {
  const auto e = add(kCentroid, "by-content");
  const fs::path p = service->save_model(e.id, Format::Onnx);
  const fs::path renamed = p.parent_path() / "model.bin";
  fs::copy_file(p, renamed);
  const auto s = open_model_path(renamed);
  EXPECT_TRUE(s->info().stub);
  EXPECT_EQ(s->score(data.view()).scores, e.model->score_samples(data.view()));
  EXPECT_FALSE(is_onnx_stub("{\"model_type\": \"onnx\"}"));
  EXPECT_FALSE(is_onnx_stub(std::string("\x08\x08\x12\x06nomaly", 10)));
}

TEST_F(PersistenceService, StrictOnnxTurnsFallbackIntoErrorAndWritesNothing) {
  const auto e = add(kCentroid, "strict");
  SaveOptions strict;
  strict.strict_onnx = true;
  EXPECT_THROW(service->save_model(e.id, Format::Onnx, json::object(), strict), OnnxExportError);
  EXPECT_FALSE(fs::exists(tmp.path / "store" / e.id));
  EXPECT_FALSE(fs::exists(tmp.path / "store"));
}

TEST_F(PersistenceService, DisabledFlagRaisesAndWritesNothing) {
  const auto e = add("iforest", "flagged", small_iforest_params());
  for (const char* var : {"NOMALY_DEEP_LEARNING", "PYNOMALY_DEEP_LEARNING"}) {
    EnvGuard a("NOMALY_DEEP_LEARNING", std::nullopt), b("PYNOMALY_DEEP_LEARNING", std::nullopt);
    EnvGuard off(var, std::string("False"));
    try {
      service->save_model(e.id, Format::Onnx);
      FAIL() << "expected FeatureDisabled";
    } catch (const FeatureDisabled& ex) {
      // The seed's sentence, then why a non-deep detector is blocked too.
      EXPECT_EQ(std::string(ex.what()), std::string("Deep learning features are disabled. Enable with NOMALY_DEEP_LEARNING=true") +
                                            kOnnxBlockedNote);
    }
    EXPECT_THROW(service->export_model(e.id, tmp.path / "bundle"), FeatureDisabled);
    EXPECT_FALSE(fs::exists(tmp.path / "store" / e.id));
    EXPECT_FALSE(fs::exists(tmp.path / "bundle"));
  }
  EnvGuard bad("NOMALY_DEEP_LEARNING", std::string("maybe"));
  try {
    service->save_model(e.id, Format::Onnx);
    FAIL() << "expected FlagError";
  } catch (const FlagError& ex) {
    EXPECT_NE(std::string(ex.what()).find("NOMALY_DEEP_LEARNING"), std::string::npos);
  }
  EnvGuard off("NOMALY_DEEP_LEARNING", std::string("off"));
  EXPECT_NO_THROW(service->save_model(e.id, Format::Native));  // native needs no flag
}

TEST_F(PersistenceService, NativeRoundTripIsBitExact) {
  NOMALY_LOAD_ODDS(cardio, "cardio");
  DetectorEntity e = fitted_entity("iforest", cardio, json{{"n_estimators", 100}, {"random_state", 3}}, "cardio");
  repo->save(e);
  service->save_model(e.id, Format::Native);
  const auto s = service->load_model(e.id, Format::Native);
  const auto want = e.model->score_samples(cardio.view());
  const auto got = s->score(cardio.view());
  ASSERT_EQ(got.scores.size(), want.size());
  EXPECT_EQ(std::memcmp(got.scores.data(), want.data(), want.size() * sizeof(float)), 0);
  EXPECT_EQ(got.labels, e.model->labels_for(want));
  EXPECT_EQ(s->score(cardio.view(), 37).scores, want);  // batching changes nothing
}

TEST_F(PersistenceService, OnnxRoundTripMatchesNativeScores) {
  NOMALY_LOAD_ODDS(cardio, "cardio");
  DetectorEntity e = fitted_entity("iforest", cardio, json{{"n_estimators", 100}, {"random_state", 3}}, "cardio-onnx");
  repo->save(e);
  service->save_model(e.id, Format::Onnx);
  const auto s = service->load_model(e.id, Format::Onnx);
  const auto want = e.model->score_samples(cardio.view());
  const auto got = s->score(cardio.view());
  ASSERT_EQ(got.scores.size(), want.size());
  double max_rel = 0.0;
  std::size_t label_diff = 0;
  const auto labels = e.model->labels_for(want);
  for (std::size_t i = 0; i < want.size(); ++i) {
    max_rel = std::max(max_rel, std::abs(double(got.scores[i]) - want[i]) / std::max(1.0, std::abs(double(want[i]))));
    label_diff += got.labels[i] != labels[i];
  }
  EXPECT_LE(max_rel, 1e-5);
  EXPECT_EQ(label_diff, 0u);
  EXPECT_EQ(s->info().threshold, e.model->threshold());
}

TEST(PersistenceIds, PathTraversalAndMalformedIdsAreRejectedEverywhere) {
  TempDir tmp;
  auto repo = std::make_shared<InMemoryDetectorRepository>();
  ModelPersistenceService service(repo, tmp.path / "store");
  const std::vector<std::string> bad = {"",  "..", ".", "../etc", "a/b", "/abs", std::string("a\0b", 3),
                                        "a b", ".x", "x..y", "caf\xc3\xa9", std::string(65, 'a'), std::string(200, 'z'),
                                        "..\\x", "id\n"};
  for (const auto& id : bad) {
    SCOPED_TRACE(id);
    EXPECT_FALSE(is_valid_detector_id(id));
    EXPECT_THROW(validate_detector_id(id), InvalidDetectorId);
    EXPECT_THROW(service.save_model(id), InvalidDetectorId);
    EXPECT_THROW(service.load_model(id), InvalidDetectorId);
    EXPECT_THROW(service.delete_model(id), InvalidDetectorId);
    EXPECT_THROW(service.export_model(id, tmp.path / "x"), InvalidDetectorId);
    EXPECT_THROW(repo->find(id), InvalidDetectorId);
    DetectorEntity e;
    e.id = id;
    EXPECT_THROW(repo->save(e), InvalidDetectorId);
  }
  EXPECT_FALSE(std::filesystem::exists(tmp.path / "store"));
  EXPECT_FALSE(std::filesystem::exists(tmp.path / "x"));
  EXPECT_TRUE(is_valid_detector_id(std::string(64, 'a')));
  EXPECT_TRUE(is_valid_detector_id("My_Detector-01"));
  try {
    validate_detector_id(std::string("a\0b", 3));
  } catch (const InvalidDetectorId& ex) {
    EXPECT_NE(std::string(ex.what()).find("a\\x00b"), std::string::npos);
  }
}

TEST(PersistenceIds, UuidV4IsWellFormedAndUnique) {
  const std::regex re("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string u = new_uuid_v4();
    ASSERT_TRUE(std::regex_match(u, re)) << u;
    ASSERT_TRUE(is_valid_detector_id(u));
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(PersistenceRepository, StoreRepositoryIsSharedAcrossInstances) {
  TempDir tmp;
  const Dataset data = synthetic(200, 4, 10, 5);
  DetectorEntity fitted = fitted_entity("iforest", data, small_iforest_params(), "shared", "shared-1");
  fitted.metadata = {{"team", "ops"}};
  DetectorEntity raw = DetectorEntity::make(std::shared_ptr<Detector>(create_detector("iforest")), "raw", "raw-1");
  {
    StoreDetectorRepository writer(tmp.path);
    writer.save(fitted);
    writer.save(raw);
  }
  StoreDetectorRepository reader(tmp.path);  // a different instance sees the same records, as another process would
  EXPECT_EQ(reader.ids(), (std::vector<std::string>{"raw-1", "shared-1"}));
  const auto got = reader.find("shared-1");
  ASSERT_TRUE(got && got->model);
  EXPECT_TRUE(got->is_fitted);
  EXPECT_EQ(got->name, "shared");
  EXPECT_EQ(got->metadata["team"], "ops");
  EXPECT_EQ(got->feature_names, data.feature_names);
  EXPECT_EQ(got->model->score_samples(data.view()), fitted.model->score_samples(data.view()));
  const auto r = reader.find("raw-1");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->is_fitted);
  EXPECT_FALSE(reader.find("nobody"));
  EXPECT_TRUE(reader.remove("shared-1"));
  EXPECT_FALSE(reader.remove("shared-1"));
  EXPECT_EQ(reader.ids(), std::vector<std::string>{"raw-1"});
}

// A truncated store record: served from the intact saved model (same scores), else CorruptModel naming the
// record and how to recover; remove() still works.
TEST(PersistenceRepository, DamagedRecordFallsBackToSavedModelOrNamesTheRecord) {
  TempDir tmp;
  const Dataset data = synthetic(200, 4, 10, 6);
  auto repo = std::make_shared<StoreDetectorRepository>(tmp.path);
  ModelPersistenceService service(repo, tmp.path);
  const DetectorEntity e = fitted_entity("iforest", data, small_iforest_params(), "damaged", "dmg-1");
  repo->save(e);
  service.save_model("dmg-1", Format::Native);
  const fs::path record = tmp.path / ".detectors" / "dmg-1.nomaly";
  const std::string bytes = read_bytes(record);
  ASSERT_GT(bytes.size(), 100u);
  write_bytes(record, bytes.substr(0, 100));

  const auto got = repo->find("dmg-1");
  ASSERT_TRUE(got && got->model);
  EXPECT_EQ(got->name, "damaged");
  EXPECT_EQ(got->model->score_samples(data.view()), e.model->score_samples(data.view()));
  // save and export go through the fallback too.
  EXPECT_EQ(service.save_model("dmg-1", "onnx"), tmp.path / "dmg-1" / "model.onnx");

  fs::remove(tmp.path / "dmg-1" / "model.nomaly");
  try {
    repo->find("dmg-1");
    ADD_FAILURE() << "damaged record without a saved native model must throw";
  } catch (const CorruptModel& ex) {
    const std::string what = ex.what();
    EXPECT_NE(what.find(record.string()), std::string::npos) << what;
    EXPECT_NE(what.find("truncated"), std::string::npos) << what;
    EXPECT_NE(what.find("nomaly train --id dmg-1"), std::string::npos) << what;
    EXPECT_NE(what.find("nomaly delete dmg-1"), std::string::npos) << what;
  }
  EXPECT_THROW(service.save_model("dmg-1", Format::Native), CorruptModel);
  EXPECT_TRUE(repo->remove("dmg-1"));
  EXPECT_FALSE(repo->find("dmg-1"));
}

TEST(PersistenceRepository, SavedMetadataReadsOnlyTheRequestedEntry) {
  TempDir tmp;
  const Dataset data = synthetic(150, 3, 5, 8);
  auto repo = std::make_shared<InMemoryDetectorRepository>();
  ModelPersistenceService service(repo, tmp.path);
  for (const char* id : {"good", "bad"}) {
    repo->save(fitted_entity("iforest", data, small_iforest_params(), id, id));
    service.save_model(id, std::string(id) == "good" ? Format::Onnx : Format::Native);
  }
  write_bytes(tmp.path / "bad" / "metadata.json", "{");
  const auto m = service.saved_metadata("good");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["model_file"], "model.onnx");
  EXPECT_EQ((*m)["detector_id"], "good");
  EXPECT_FALSE(service.saved_metadata("never-saved"));
  EXPECT_THROW(service.saved_metadata("bad"), CorruptModel);
  EXPECT_THROW(service.saved_metadata("../x"), InvalidDetectorId);
}

}  // namespace
}  // namespace nomaly::test
