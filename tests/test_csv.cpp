// CSV reader/writer: format tolerance, every typed error, bit-exact round trips and the real data files.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <streambuf>
#include <unistd.h>

#include "nomaly/csv.hpp"
#include "nomaly/errors.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using nomaly::CsvError;
using nomaly::CsvOptions;
using nomaly::Dataset;

namespace {

/// A fresh temporary directory per test, removed afterwards.
class CsvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("nomaly_csv_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& content, const std::string& name = "in.csv") {
    const fs::path p = dir_ / name;
    std::ofstream f(p, std::ios::binary);
    f << content;
    return p.string();
  }

  /// Reads `content` and expects a CsvError at (line, column) whose message contains every piece of `parts`.
  CsvError expect_error(const std::string& content, const CsvOptions& o, std::size_t line, std::size_t column,
                        const std::vector<std::string>& parts) {
    const std::string path = write(content);
    try {
      nomaly::read_csv(path, o);
    } catch (const CsvError& e) {
      EXPECT_EQ(e.file(), path);
      EXPECT_EQ(e.line(), line) << e.what();
      EXPECT_EQ(e.column(), column) << e.what();
      EXPECT_EQ(e.exit_code(), nomaly::ExitCode::BadData);
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(path, 0), 0u) << msg;  // the message starts with the file name
      for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
      return e;
    }
    ADD_FAILURE() << "no CsvError for:\n" << content;
    return CsvError("", 0, 0, "");
  }

  fs::path dir_;
};

CsvOptions with_label(const std::string& l = "label") {
  CsvOptions o;
  o.label_column = l;
  return o;
}

std::uint32_t bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

}  // namespace

// ---- accepted formats --------------------------------------------------------------------------------

TEST_F(CsvTest, ParsesHeaderRowsAndLabels) {
  Dataset d = nomaly::read_csv(write("a,b,label\n1,2.5,0\n-3,4e2,1\n"), with_label());
  ASSERT_EQ(d.rows, 2u);
  ASSERT_EQ(d.cols, 2u);
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.X, (std::vector<float>{1.f, 2.5f, -3.f, 400.f}));
  ASSERT_TRUE(d.labels.has_value());
  EXPECT_EQ(*d.labels, (std::vector<int>{0, 1}));
}

TEST_F(CsvTest, WithoutLabelOptionTheLabelColumnIsAFeature) {
  Dataset d = nomaly::read_csv(write("a,label\n1,0\n2,1\n"));
  EXPECT_EQ(d.cols, 2u);
  EXPECT_FALSE(d.labels.has_value());
  EXPECT_EQ(d.X, (std::vector<float>{1.f, 0.f, 2.f, 1.f}));
}

TEST_F(CsvTest, CrlfBomWhitespaceAndTrailingBlankLines) {
  Dataset d = nomaly::read_csv(write("\xEF\xBB\xBF" "a,b,label\r\n 1.5 ,\t2 ,1\r\n+3,-.25,0\r\n\r\n  \r\n\n"), with_label());
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a", "b"}));  // BOM not glued to "a"
  EXPECT_EQ(d.rows, 2u);
  EXPECT_EQ(d.X, (std::vector<float>{1.5f, 2.f, 3.f, -0.25f}));
  EXPECT_EQ(*d.labels, (std::vector<int>{1, 0}));
}

TEST_F(CsvTest, LastLineWithoutNewline) {
  Dataset d = nomaly::read_csv(write("a,b\n1,2\n3,4"));
  EXPECT_EQ(d.X, (std::vector<float>{1, 2, 3, 4}));
}

TEST_F(CsvTest, QuotedFieldsRfc4180) {
  CsvOptions o = with_label();
  o.ignore_columns = {"note"};
  // A quoted comma, an escaped quote, a quoted newline (the next record is physical line 5), quoted numbers.
  const std::string text =
      "\"x,y\",note,\"label\"\n"
      "\"1.5\",\"he said \"\"hi\"\", ok\",\"1\"\n"
      "2, \"multi\nline\" ,0\n"
      "3,plain,0\n";
  Dataset d = nomaly::read_csv(write(text), o);
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"x,y"}));
  EXPECT_EQ(d.X, (std::vector<float>{1.5f, 2.f, 3.f}));
  EXPECT_EQ(*d.labels, (std::vector<int>{1, 0, 0}));
  // Line numbers keep counting physical lines after a quoted newline.
  expect_error(text + "oops,z,0\n", o, 6, 1, {"column 'x,y'", "non-numeric", "\"oops\""});
}

TEST_F(CsvTest, ManyEscapedQuoteFieldsStayIntact) {
  // Regression (found by fuzz_csv): unescaped copies of earlier fields must survive later ones.
  std::string header, row;
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) {
    header += (i ? "," : "") + std::string("\"c\"\"") + std::to_string(i) + "\"";
    names.push_back("c\"" + std::to_string(i));
    row += (i ? "," : "") + std::to_string(i);
  }
  Dataset d = nomaly::read_csv(write(header + "\n" + row + "\n"));
  EXPECT_EQ(d.feature_names, names);
  ASSERT_EQ(d.X.size(), 40u);
  EXPECT_EQ(d.X[39], 39.f);
}

TEST_F(CsvTest, LabelAndIgnoreColumnsKeepFeatureOrder) {
  CsvOptions o = with_label("y");
  o.ignore_columns = {"id", "comment"};
  Dataset d = nomaly::read_csv(write("id,f0,y,comment,f1\nA7,1,1,hello world,2\nB8,3,0,,4\n"), o);
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"f0", "f1"}));
  EXPECT_EQ(d.X, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(*d.labels, (std::vector<int>{1, 0}));
}

TEST_F(CsvTest, LabelsWrittenAsFloatsAreAccepted) {
  Dataset d = nomaly::read_csv(write("a,label\n1,1.0\n2,0.0\n"), with_label());
  EXPECT_EQ(*d.labels, (std::vector<int>{1, 0}));
}

TEST_F(CsvTest, FromStreamUsesTheGivenName) {
  std::istringstream in("a\n1\nzz\n");
  try {
    nomaly::read_csv(in, "<stdin>");
    FAIL() << "expected CsvError";
  } catch (const CsvError& e) {
    EXPECT_EQ(std::string(e.what()), "<stdin>:3:1: column 'a': non-numeric value \"zz\"");
  }
}

TEST_F(CsvTest, UnderflowBecomesZeroOrSubnormal) {
  Dataset d = nomaly::read_csv(write("a\n1e-50\n-1e-400\n1e-40\n"));
  EXPECT_EQ(bits(d.X[0]), bits(0.0f));
  EXPECT_EQ(bits(d.X[1]), bits(-0.0f));
  EXPECT_EQ(d.X[2], 1e-40f);
}

TEST_F(CsvTest, NonFiniteAllowedWhenAsked) {
  CsvOptions o;
  o.reject_non_finite = false;
  Dataset d = nomaly::read_csv(write("a\nnan\ninf\n-inf\n1e39\n"), o);
  EXPECT_TRUE(std::isnan(d.X[0]));
  EXPECT_EQ(d.X[1], std::numeric_limits<float>::infinity());
  EXPECT_EQ(d.X[2], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(d.X[3], std::numeric_limits<float>::infinity());
}

TEST_F(CsvTest, LineOfExactlyMaxBytesIsAccepted) {
  CsvOptions o;
  o.max_line_bytes = 8;
  Dataset d = nomaly::read_csv(write("abcdefgh\r\n1234.567\r\n"), o);  // both lines are 8 bytes + CRLF
  EXPECT_EQ(d.X, (std::vector<float>{1234.567f}));
}

// ---- errors ------------------------------------------------------------------------------------------

TEST_F(CsvTest, ErrorCannotOpen) {
  const std::string missing = (dir_ / "nope.csv").string();
  try {
    nomaly::read_csv(missing);
    FAIL();
  } catch (const CsvError& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot open file: No such file or directory");
    EXPECT_EQ(e.line(), 0u);
  }
  EXPECT_THROW(nomaly::read_csv(dir_.string()), CsvError);  // a directory
}

TEST_F(CsvTest, ErrorEmptyFile) {
  expect_error("", {}, 0, 0, {"empty file"});
  expect_error("\n \r\n\n", {}, 0, 0, {"empty file"});
  expect_error("\xEF\xBB\xBF", {}, 0, 0, {"empty file"});
}

TEST_F(CsvTest, ErrorHeaderOnly) {
  expect_error("a,b,label\n", with_label(), 1, 0, {"header row but no data rows"});
  expect_error("a,b\n\n\n", {}, 1, 0, {"no data rows"});
}

TEST_F(CsvTest, ErrorNonNumericAndEmptyCell) {
  auto e = expect_error("a,b\n1,2\n3,abc\n", {}, 3, 2, {"column 'b'", "non-numeric value \"abc\""});
  EXPECT_EQ(std::string(e.what()), e.file() + ":3:2: column 'b': non-numeric value \"abc\"");
  expect_error("a,b\n1,2\n3,\n", {}, 3, 2, {"column 'b'", "non-numeric", "empty cell"});
  expect_error("a,b\n1,2\n3,\"\"\n", {}, 3, 2, {"empty cell"});
  expect_error("a,b\n1.5x,2\n", {}, 2, 1, {"column 'a'", "\"1.5x\""});
  expect_error("a,b\n0x10,2\n", {}, 2, 1, {"non-numeric"});
}

TEST_F(CsvTest, ErrorRaggedRows) {
  expect_error("a,b,c\n1,2,3\n1,2\n", {}, 3, 3, {"too few fields", "expected 3", "got 2", "'c'"});
  expect_error("a,b\n1,2,3\n", {}, 2, 3, {"too many fields", "expected 2", "got 3"});
  expect_error("a,b\n1,2,\n", {}, 2, 3, {"too many fields"});  // trailing comma = an extra empty field
}

TEST_F(CsvTest, ErrorMissingLabelColumnListsColumns) {
  auto e = expect_error("a,b,target\n1,2,0\n", with_label(), 1, 0, {});
  EXPECT_EQ(std::string(e.what()),
            e.file() + ":1: label column 'label' not found; available columns: a, b, target");
  CsvOptions o;
  o.ignore_columns = {"id"};
  expect_error("a,b\n1,2\n", o, 1, 0, {"ignored column 'id' not found", "a, b"});
}

TEST_F(CsvTest, ErrorLabelNotZeroOne) {
  expect_error("a,label\n1,0\n2,2\n", with_label(), 3, 2, {"label column 'label'", "\"2\"", "not 0 or 1"});
  expect_error("a,label\n1,yes\n", with_label(), 2, 2, {"\"yes\"", "not 0 or 1"});
  expect_error("a,label\n1,0.5\n", with_label(), 2, 2, {"not 0 or 1"});
}

TEST_F(CsvTest, ErrorNonFinite) {
  for (const std::string v : {"nan", "NaN", "inf", "-inf", "Infinity"})
    expect_error("a,b\n1,2\n3," + v + "\n", {}, 3, 2, {"column 'b'", "non-finite", "\"" + v + "\"",
                                                       "non-finite values (NaN, inf, -inf) are rejected"});
  expect_error("a,b\n1,1e39\n", {}, 2, 2, {"\"1e39\"", "overflows float32", "non-finite values", "rejected"});
  expect_error("a,b\n1,-1e400\n", {}, 2, 2, {"overflows float32"});
}

TEST_F(CsvTest, ErrorDuplicateColumns) {
  expect_error("a,b,a\n1,2,3\n", {}, 1, 3, {"duplicate column name 'a'", "also column 1"});
  expect_error("a,\"a\"\n1,2\n", {}, 1, 2, {"duplicate column name 'a'"});
}

TEST_F(CsvTest, ErrorMalformedHeaderAndQuotes) {
  expect_error("a,,b\n1,2,3\n", {}, 1, 2, {"empty name"});
  expect_error("a,b\n1,\"2\n", {}, 2, 2, {"unterminated quoted field"});
  expect_error("a,b\n1,\"2\"x\n", {}, 2, 2, {"after the closing quote"});
  expect_error("label\n1\n", with_label(), 1, 0, {"no feature columns"});
  expect_error("\na\n1\n", {}, 1, 0, {"header row", "blank"});
}

TEST_F(CsvTest, ErrorBlankLineBetweenRows) {
  expect_error("a\n1\n\n2\n", {}, 3, 0, {"blank line between data rows"});
}

TEST_F(CsvTest, ErrorLineTooLong) {
  CsvOptions o;
  o.max_line_bytes = 8;
  expect_error("a\n1\n123456789\n", o, 3, 0, {"longer than 8 bytes", "max_line_bytes"});
  expect_error("abcdefghi\n1\n", o, 1, 0, {"longer than 8 bytes"});
}

namespace {
/// An endless stream: a header line, then one line that never ends. Reading it whole would never return.
class EndlessLine : public std::streambuf {
 public:
  EndlessLine() : buf_(1 << 16, '7') {
    buf_[0] = 'a';
    buf_[1] = '\n';
    setg(buf_.data(), buf_.data(), buf_.data() + buf_.size());
  }
  std::size_t served = 0;

 protected:
  int_type underflow() override {
    served += buf_.size();
    setg(buf_.data() + 2, buf_.data() + 2, buf_.data() + buf_.size());
    return traits_type::to_int_type('7');
  }

 private:
  std::string buf_;
};
}  // namespace

TEST_F(CsvTest, GiantLineIsRejectedWithBoundedReading) {
  EndlessLine sb;
  std::istream in(&sb);
  CsvOptions o;
  o.max_line_bytes = 1u << 20;
  try {
    nomaly::read_csv(in, "endless", o);
    FAIL();
  } catch (const CsvError& e) {
    EXPECT_EQ(e.line(), 2u);
    EXPECT_NE(std::string(e.what()).find("longer than 1048576 bytes"), std::string::npos) << e.what();
  }
  // It stopped after a bounded amount of input, not "the whole line".
  EXPECT_LT(sb.served, 8u << 20);
  EXPECT_GT(sb.served, 1u << 20);
}

// ---- writing and round trips -------------------------------------------------------------------------

TEST_F(CsvTest, WriteReadRoundTripIsBitExact) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  Dataset d;
  d.rows = 500;
  d.cols = 4;
  d.feature_names = {"plain", "with,comma", "with \"quote\"", " padded "};
  for (std::size_t i = 0; i < d.rows * d.cols; ++i) {
    float f;
    do {
      const std::uint32_t u = any_bits(rng);
      std::memcpy(&f, &u, sizeof f);
    } while (!std::isfinite(f));
    d.X.push_back(f);
  }
  // Edge values: extremes, subnormals, signed zero, values that need 9 significant digits.
  const float edge[] = {std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                        std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(),
                        -0.0f, 0.1f, 16777217.0f, 0.333333343f};
  std::copy(std::begin(edge), std::end(edge), d.X.begin());
  std::vector<int> labels(d.rows);
  for (std::size_t i = 0; i < d.rows; ++i) labels[i] = static_cast<int>(i % 3 == 0);
  d.labels = labels;

  const std::string path = (dir_ / "rt.csv").string();
  nomaly::write_csv(path, d);
  Dataset back = nomaly::read_csv(path, with_label());
  ASSERT_EQ(back.rows, d.rows);
  ASSERT_EQ(back.cols, d.cols);
  EXPECT_EQ(back.feature_names, d.feature_names);
  EXPECT_EQ(*back.labels, labels);
  ASSERT_EQ(back.X.size(), d.X.size());
  for (std::size_t i = 0; i < d.X.size(); ++i) ASSERT_EQ(bits(back.X[i]), bits(d.X[i])) << "value " << i;
}

TEST_F(CsvTest, WriteCsvFormat) {
  Dataset d;
  d.rows = 2;
  d.cols = 2;
  d.X = {0.1f, -2.f, 1e-7f, 3.4028235e38f};
  d.feature_names = {"a", "b"};
  const std::string path = (dir_ / "w.csv").string();
  nomaly::write_csv(path, d);
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), "a,b\n0.1,-2\n1e-07,3.4028235e+38\n");
  d.X.pop_back();
  EXPECT_THROW(nomaly::write_csv(path, d), nomaly::DataError);
}

TEST_F(CsvTest, WriteScoresCsv) {
  const std::string path = (dir_ / "scores.csv").string();
  const std::vector<float> scores = {0.5f, 1.0f / 3.0f, -7.25f};
  nomaly::write_scores_csv(path, scores, {1, 0, 1});
  std::ifstream f(path);
  std::string header;
  std::getline(f, header);
  EXPECT_EQ(header, "score,label");
  Dataset back = nomaly::read_csv(path, with_label());
  EXPECT_EQ(back.feature_names, (std::vector<std::string>{"score"}));
  for (std::size_t i = 0; i < scores.size(); ++i) EXPECT_EQ(bits(back.X[i]), bits(scores[i]));
  EXPECT_EQ(*back.labels, (std::vector<int>{1, 0, 1}));
  EXPECT_THROW(nomaly::write_scores_csv(path, scores, {1, 0}), nomaly::DataError);
  try {
    nomaly::write_scores_csv((dir_ / "no_dir" / "s.csv").string(), scores, {});
    FAIL();
  } catch (const nomaly::IoError& e) {  // an unwritable output is not bad data (issue 15): exit 5
    EXPECT_NE(std::string(e.what()).find("cannot write"), std::string::npos);
    EXPECT_EQ(e.exit_code(), nomaly::ExitCode::Io);
  }
}

// ---- real files --------------------------------------------------------------------------------------

TEST(CsvRealData, CardioShapeAndLabels) {
  NOMALY_LOAD_ODDS(d, "cardio");
  EXPECT_EQ(d.rows, 1831u);
  EXPECT_EQ(d.cols, 21u);
  EXPECT_EQ(d.feature_names.front(), "f0");
  EXPECT_EQ(d.feature_names.back(), "f20");
  ASSERT_TRUE(d.labels);
  EXPECT_EQ(std::count(d.labels->begin(), d.labels->end(), 1), 176);
  // First value of the file, "0.004912314661768384", correctly rounded to float32.
  EXPECT_EQ(d.X[0], 0.004912314661768384f);
}

TEST(CsvRealData, MuskReadsFast) {
  NOMALY_LOAD_ODDS(warm, "musk");  // warm the page cache
  const auto t0 = std::chrono::steady_clock::now();
  NOMALY_LOAD_ODDS(d, "musk");
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(d.rows, 3062u);
  EXPECT_EQ(d.cols, 166u);
  EXPECT_EQ(std::count(d.labels->begin(), d.labels->end(), 1), 97);
  RecordProperty("musk_read_ms", std::to_string(ms));
  std::cout << "[ info ] musk.csv (2 MB) read in " << ms << " ms\n";
  EXPECT_LT(ms, 1000.0);  // generous for sanitizer builds; Release takes a few ms
}

namespace {
const char* kWdbc = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv";
}

TEST(CsvRealData, SklearnBreastCancer) {
  if (!fs::exists(kWdbc)) {
    if (nomaly::test::under_ci()) FAIL() << "missing " << kWdbc << " (CI=true)";
    GTEST_SKIP() << kWdbc << " not found (python3-sklearn not installed)";
  }
  Dataset d = nomaly::read_sklearn_breast_cancer(kWdbc);
  EXPECT_EQ(d.rows, 569u);
  EXPECT_EQ(d.cols, 30u);
  ASSERT_EQ(d.feature_names.size(), 30u);
  EXPECT_EQ(d.feature_names[0], "mean_radius");
  EXPECT_EQ(d.feature_names[7], "mean_concave_points");
  EXPECT_EQ(d.feature_names[29], "worst_fractal_dimension");
  ASSERT_TRUE(d.labels);
  EXPECT_EQ(std::count(d.labels->begin(), d.labels->end(), 1), 212);
  // Row 1 of the file: 17.99,10.38,...,0.1189,0 (target 0 = malignant -> label 1).
  EXPECT_EQ(d.X[0], 17.99f);
  EXPECT_EQ(d.X[29], 0.1189f);
  EXPECT_EQ((*d.labels)[0], 1);
}

TEST_F(CsvTest, SklearnBreastCancerErrors) {
  std::string row = "1";
  for (int i = 1; i < 30; ++i) row += ",1";
  const std::string two = row + ",0\n" + row + ",1\n";
  try {
    nomaly::read_sklearn_breast_cancer(write("3,30,malignant,benign\n" + two));
    FAIL();
  } catch (const CsvError& e) {
    EXPECT_NE(std::string(e.what()).find("announces 3 rows but the file holds 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(nomaly::read_sklearn_breast_cancer(write("2,29,malignant,benign\n" + two)), CsvError);
  try {
    nomaly::read_sklearn_breast_cancer(write("2,30,malignant,benign\n" + row + ",0\n" + row + "\n"));
    FAIL();
  } catch (const CsvError& e) {
    EXPECT_EQ(e.line(), 3u);
    EXPECT_NE(std::string(e.what()).find("'target' is missing"), std::string::npos) << e.what();
  }
  Dataset ok = nomaly::read_sklearn_breast_cancer(write("2,30,malignant,benign\n" + two));
  EXPECT_EQ(*ok.labels, (std::vector<int>{1, 0}));
}

// ---- Dataset::subset ---------------------------------------------------------------------------------

TEST(DatasetSubset, RowsAndLabelsFollowTheIndices) {
  Dataset d = nomaly::test::synthetic(5, 3, 2);
  Dataset s = d.subset({6, 0, 0});
  ASSERT_EQ(s.rows, 3u);
  EXPECT_EQ(s.cols, 3u);
  EXPECT_EQ(s.feature_names, d.feature_names);
  for (std::size_t j = 0; j < 3; ++j) {
    EXPECT_EQ(s.X[j], d.X[6 * 3 + j]);
    EXPECT_EQ(s.X[3 + j], d.X[j]);
  }
  EXPECT_EQ(*s.labels, (std::vector<int>{1, 0, 0}));
  EXPECT_THROW(d.subset({7}), nomaly::DataError);
}
