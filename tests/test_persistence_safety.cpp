// Corruption, truncation, concurrency and fault injection for the model store (issue 4 §6, §8).
#include <atomic>
#include <cstring>
#include <thread>

#include "test_persistence_util.hpp"

namespace nomaly::test {
namespace {

namespace fs = std::filesystem;

class PersistenceSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    repo = std::make_shared<InMemoryDetectorRepository>();
    service = std::make_unique<ModelPersistenceService>(repo, tmp.path / "store");
    data = synthetic(200, 4, 10, 21);
  }
  DetectorEntity add(const std::string& algorithm, const std::string& id, const Dataset& d) {
    DetectorEntity e = fitted_entity(algorithm, d, algorithm == "iforest" ? small_iforest_params() : json::object(),
                                     "safety-" + id, id);
    repo->save(e);
    return e;
  }
  /// Every byte flipped (files up to 64 KiB), else the first and last 64 bytes plus 1500 evenly spaced ones:
  /// load must throw CorruptModel every time and the original must load again afterwards.
  void expect_flips_detected(const fs::path& file, const std::string& id, Format f) {
    const std::string orig = read_bytes(file);
    ASSERT_FALSE(orig.empty());
    std::vector<std::size_t> at;
    if (orig.size() <= (64u << 10)) {
      for (std::size_t i = 0; i < orig.size(); ++i) at.push_back(i);
    } else {
      for (std::size_t i = 0; i < 64; ++i) at.insert(at.end(), {i, orig.size() - 1 - i});
      for (std::size_t k = 0; k < 1500; ++k) at.push_back(k * orig.size() / 1500);
    }
    std::size_t detected = 0;
    // Bytes are patched in place: rewriting the file through O_TRUNC makes ext4 flush it each time.
    auto poke = [&](std::size_t i, char c) {
      std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
      io.seekp(static_cast<std::streamoff>(i));
      io.put(c);
    };
    for (const std::size_t i : at) {
      poke(i, static_cast<char>(orig[i] ^ 0xFF));
      try {
        service->load_model(id, f);
        ADD_FAILURE() << file << ": flip at byte " << i << " was not detected";
      } catch (const CorruptModel&) {
        ++detected;
      }
      poke(i, orig[i]);
    }
    EXPECT_EQ(detected, at.size());
    write_bytes(file, orig);
    EXPECT_NO_THROW(service->load_model(id, f));
  }
  void expect_truncations_detected(const fs::path& file, const std::string& id, Format f) {
    const std::string orig = read_bytes(file);
    const std::size_t n = orig.size();
    const std::vector<std::size_t> cuts = {0, 1, 7, 8, 20, 51, 52, n / 3, n / 2, n - 1};
    for (const std::size_t c : cuts) {
      write_bytes(file, orig.substr(0, c));
      EXPECT_THROW(service->load_model(id, f), CorruptModel) << file << " truncated to " << c << " bytes";
    }
    write_bytes(file, orig);
    EXPECT_NO_THROW(service->load_model(id, f));
  }
  TempDir tmp;
  std::shared_ptr<InMemoryDetectorRepository> repo;
  std::unique_ptr<ModelPersistenceService> service;
  Dataset data;
};

TEST_F(PersistenceSafety, NativeEnvelopeReportsEachReason) {
  const auto e = add(kCentroid, "envelope", data);
  const std::string good = encode_native_entity(e);
  auto reason = [&](const std::string& bytes) {
    try {
      decode_native(bytes, "m.nomaly");
    } catch (const CorruptModel& ex) {
      return std::string(ex.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(reason(good.substr(0, 30)).find("m.nomaly: truncated header"), std::string::npos);
  EXPECT_NE(reason(good.substr(0, 4)).find("truncated header"), std::string::npos);
  EXPECT_NE(reason("PK\x03\x04 not ours at all, long enough for a header.........").find("bad magic"), std::string::npos);
  std::string newer = good;
  newer[8] = 2;
  EXPECT_NE(reason(newer).find("format version 2 is newer than supported 1"), std::string::npos);
  EXPECT_NE(reason(good.substr(0, good.size() - 3)).find("truncated payload"), std::string::npos);
  EXPECT_NE(reason(good + "x").find("trailing bytes"), std::string::npos);
  std::string flipped = good;
  flipped.back() = static_cast<char>(flipped.back() ^ 1);
  EXPECT_NE(reason(flipped).find("checksum mismatch"), std::string::npos);
  // A valid envelope around bytes that are not MessagePack.
  const json payload = json{{"x", 1}};
  std::string env = encode_native(payload);
  std::string junk = env.substr(0, 12) + std::string(8, '\0') + env.substr(20);  // length 0 != payload
  EXPECT_NE(reason(junk).find("trailing bytes"), std::string::npos);
  EXPECT_EQ(decode_native(env, "ok"), payload);
}

TEST_F(PersistenceSafety, TruncatedNativeFileIsCorruptModel) {
  const auto e = add("iforest", "trunc-native", data);
  const fs::path p = service->save_model(e.id, Format::Native);
  expect_truncations_detected(p, e.id, Format::Native);
}

TEST_F(PersistenceSafety, TruncatedOnnxFileIsCorruptModel) {
  const auto e = add("iforest", "trunc-onnx", data);
  const fs::path p = service->save_model(e.id, Format::Onnx);
  expect_truncations_detected(p, e.id, Format::Onnx);
}

TEST_F(PersistenceSafety, TruncatedMetadataIsCorruptModel) {
  const auto e = add("iforest", "trunc-meta", data);
  const fs::path p = service->save_model(e.id, Format::Native);
  const fs::path meta = p.parent_path() / "metadata.json";
  const std::string orig = read_bytes(meta);
  for (std::size_t k = 0; k < 10; ++k) {
    write_bytes(meta, orig.substr(0, k * orig.size() / 10));
    EXPECT_THROW(service->load_model(e.id), CorruptModel);
  }
}

TEST_F(PersistenceSafety, ByteFlipsInNativeFileAreCorruptModel) {
  const auto e = add(kCentroid, "flip-native", data);
  expect_flips_detected(service->save_model(e.id, Format::Native), e.id, Format::Native);
  const auto f = add("iforest", "flip-native-forest", data);
  expect_flips_detected(service->save_model(f.id, Format::Native), f.id, Format::Native);
}

TEST_F(PersistenceSafety, ByteFlipsInOnnxFileAreCorruptModel) {
  const auto e = add("iforest", "flip-onnx", data);
  expect_flips_detected(service->save_model(e.id, Format::Onnx), e.id, Format::Onnx);
}

TEST_F(PersistenceSafety, ByteFlipsInStubAndItsNativeFileAreCorruptModel) {
  const auto e = add(kCentroid, "flip-stub", data);
  const fs::path stub = service->save_model(e.id, Format::Onnx);
  expect_flips_detected(stub, e.id, Format::Onnx);
  expect_flips_detected(stub.parent_path() / "model.nomaly", e.id, Format::Onnx);
}

TEST_F(PersistenceSafety, ByteFlipsInMetadataAreCorruptModel) {
  const auto e = add(kCentroid, "flip-meta", data);
  const fs::path p = service->save_model(e.id, Format::Onnx);
  expect_flips_detected(p.parent_path() / "metadata.json", e.id, Format::Onnx);
}

TEST_F(PersistenceSafety, StubWhoseNativeFileIsMissingIsCorruptModel) {
  const auto e = add(kCentroid, "stub-missing", data);
  const fs::path p = service->save_model(e.id, Format::Onnx);
  fs::remove(p.parent_path() / "model.nomaly");
  try {
    service->load_model(e.id, Format::Onnx);
    FAIL() << "expected CorruptModel";
  } catch (const CorruptModel& ex) {
    EXPECT_NE(std::string(ex.what()).find("missing"), std::string::npos);
  }
}

TEST_F(PersistenceSafety, ConcurrentSavesFromEightThreads) {
  std::vector<DetectorEntity> es;
  for (int t = 0; t < 8; ++t) es.push_back(add(t % 2 ? kCentroid : "iforest", "par-" + std::to_string(t), data));
  const auto shared = add("iforest", "same-id", data);
  // The threads load the native file while others save ONNX: it must exist before the first ONNX-only save.
  service->save_model(shared.id, Format::Native);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int k = 0; k < 5; ++k) {
          service->save_model(es[t].id, k % 2 ? Format::Onnx : Format::Native, json{{"round", k}});
          service->save_model(shared.id, t % 2 ? Format::Onnx : Format::Native, json{{"thread", t}});
          service->load_model(shared.id, Format::Native);
        }
      } catch (const std::exception& ex) {
        ++failures;
        ADD_FAILURE() << "thread " << t << ": " << ex.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const auto listed = service->list_saved_models();
  EXPECT_EQ(listed.size(), 9u);
  for (const auto& e : es) {
    const auto s = service->load_model(e.id, Format::Native);
    EXPECT_EQ(s->score(data.view()).scores, e.model->score_samples(data.view()));
    EXPECT_NO_THROW(service->load_model(e.id, Format::Onnx));
    EXPECT_EQ(listed.at(e.id)["round"], 4);
    EXPECT_TRUE(leftover_files(tmp.path / "store" / e.id).empty());
  }
  EXPECT_EQ(service->load_model(shared.id, Format::Onnx)->score(data.view()).labels,
            shared.model->predict(data.view()));
  EXPECT_TRUE(leftover_files(tmp.path / "store" / shared.id).empty());
}

TEST_F(PersistenceSafety, FailureBeforeRenameLeavesOldModelLoadable) {
  const auto v1 = add("iforest", "faulty", data);
  service->save_model(v1.id, Format::Native);
  service->save_model(v1.id, Format::Onnx);
  const auto v1_scores = v1.model->score_samples(data.view());

  // v2: the same id refitted on other data; its save dies between writing the temp file and the rename.
  const Dataset other = synthetic(200, 4, 10, 99);
  const auto v2 = add("iforest", "faulty", other);
  const auto v2_scores = v2.model->score_samples(data.view());
  ASSERT_NE(v1_scores, v2_scores);
  service->set_before_rename_hook([](const fs::path& p) {
    if (p.filename() != "metadata.json") throw ModelError("injected fault before renaming " + p.string());
  });
  for (Format f : {Format::Native, Format::Onnx}) {
    EXPECT_THROW(service->save_model(v2.id, f), ModelError);
    EXPECT_EQ(service->load_model(v1.id, Format::Native)->score(data.view()).scores, v1_scores);
    EXPECT_TRUE(leftover_files(tmp.path / "store" / v1.id).empty());
  }
  const auto onnx = service->load_model(v1.id, Format::Onnx)->score(data.view()).scores;
  for (std::size_t i = 0; i < onnx.size(); ++i) EXPECT_NEAR(onnx[i], v1_scores[i], 1e-5);

  // Dying after the model rename but before metadata.json: the redo record completes the save on next access.
  service->set_before_rename_hook([](const fs::path& p) {
    if (p.filename() == "metadata.json") throw ModelError("injected fault before renaming metadata.json");
  });
  EXPECT_THROW(service->save_model(v2.id, Format::Native), ModelError);
  EXPECT_TRUE(fs::exists(tmp.path / "store" / v1.id / ".metadata.json.pending"));
  EXPECT_EQ(service->load_model(v2.id, Format::Native)->score(data.view()).scores, v2_scores);
  EXPECT_TRUE(leftover_files(tmp.path / "store" / v1.id).empty());
  service->set_before_rename_hook({});
  // The v1 ONNX belongs to the replaced fit: never served beside v2 (it used to be, silently).
  EXPECT_THROW(service->load_model(v2.id, Format::Onnx), NoSavedModel);
}

TEST_F(PersistenceSafety, FailedFirstSaveLeavesNoDirectory) {
  const auto e = add("iforest", "first", data);
  service->set_before_rename_hook([](const fs::path&) { throw ModelError("injected"); });
  EXPECT_THROW(service->save_model(e.id, Format::Native), ModelError);
  EXPECT_FALSE(fs::exists(tmp.path / "store" / e.id));
  EXPECT_FALSE(fs::exists(tmp.path / "store"));
  EXPECT_THROW(service->load_model(e.id), NoSavedModel);
}

TEST_F(PersistenceSafety, LeftoverTempFilesAreCleanedOnNextSave) {
  const auto e = add("iforest", "leftovers", data);
  const fs::path dir = service->save_model(e.id).parent_path();
  write_bytes(dir / ".model.nomaly.tmp-deadbeef", "half a model");
  write_bytes(dir / ".model.onnx.tmp-0123", "half an onnx");
  write_bytes(dir / ".metadata.json.pending", "{\"truncated");
  EXPECT_EQ(leftover_files(dir).size(), 3u);
  EXPECT_NO_THROW(service->load_model(e.id));  // a damaged redo record is discarded, never taken for metadata
  service->save_model(e.id, Format::Onnx);
  EXPECT_TRUE(leftover_files(dir).empty());
  EXPECT_NO_THROW(service->load_model(e.id, Format::Native));
}

}  // namespace
}  // namespace nomaly::test
