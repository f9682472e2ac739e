// read_table, the one reader of user data (issue 15): header rules, column roles, model-feature selection.
#include <gtest/gtest.h>

#include <sstream>

#include "nomaly/errors.hpp"
#include "nomaly/table.hpp"

namespace nomaly::test {
namespace {

Table table(const std::string& text, const TableOptions& o = {}) {
  std::istringstream in(text);
  return read_table(in, "t.csv", o);
}

std::string error_of(const std::string& text, const TableOptions& o = {}) {
  try {
    table(text, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

#define EXPECT_HAS(hay, needle) EXPECT_NE(std::string(hay).find(needle), std::string::npos) << (hay)

TEST(Table, LabelIsFoundAnywhereInTheHeaderWithBlanksBomAndQuotes) {
  // The train bug of issue 15: "a, b, label" fitted the label as a third feature.
  for (const std::string text : {"a, b, label\n1,2,0\n3,4,1\n", "\xEF\xBB\xBFlabel,a,b\r\n0,1,2\r\n1,3,4\r\n",
                                 "\"a\" , \"b\",\"label\"\n1,2,0\n3,4,1\n"}) {
    const Table t = table(text);
    EXPECT_EQ(t.label_column, "label") << text;
    EXPECT_EQ(t.data.feature_names, (std::vector<std::string>{"a", "b"})) << text;
    ASSERT_TRUE(t.data.labels) << text;
    EXPECT_EQ(*t.data.labels, (std::vector<int>{0, 1})) << text;
    EXPECT_EQ(t.data.X, (std::vector<float>{1, 2, 3, 4})) << text;
  }
  TableOptions none;
  none.label_column = "";  // explicitly no label: "label" is then an ordinary feature
  EXPECT_EQ(table("a,label\n1,0\n", none).data.cols, 2u);
  TableOptions other;
  other.label_column = "y";
  const Table t = table("label,y\n5,1\n", other);
  EXPECT_EQ(t.data.feature_names, std::vector<std::string>{"label"});
  EXPECT_EQ(*t.data.labels, std::vector<int>{1});
}

TEST(Table, CrOnlyLineEndingsReadAsLf) {
  const Table cr = table("f0,f1\r1,2\r3,4\r");
  const Table lf = table("f0,f1\n1,2\n3,4\n");
  EXPECT_EQ(cr.data.rows, 2u);
  EXPECT_EQ(cr.data.X, lf.data.X);
  EXPECT_EQ(cr.data.feature_names, lf.data.feature_names);
  EXPECT_EQ(table("a\r1\r2").data.X, (std::vector<float>{1, 2}));  // no trailing CR
}

TEST(Table, ControlCharactersAreEscapedInMessages) {
  const std::string e = error_of("a,b\n1\r,2\n");
  EXPECT_HAS(e, "t.csv:2:1: column 'a': non-numeric value \"1\\r\"");
  EXPECT_EQ(e.find('\r'), std::string::npos);
  const std::string named = error_of("a\x01,b\nx,1\n");  // a control byte in a column name
  EXPECT_HAS(named, "column 'a\\x01': non-numeric value \"x\"");
  EXPECT_EQ(named.find('\x01'), std::string::npos);
}

TEST(Table, NonUtf8HeaderIsRejectedNamingColumnAndByte) {
  const std::string e = error_of("id,caf\xE9,label\n1,2,0\n");
  EXPECT_HAS(e, "t.csv:1:2: column 2's name \"caf\\xE9\" is not valid UTF-8 (byte 0xE9 at offset 3 of the name)");
  // Valid multi-byte UTF-8 names are kept as they are.
  EXPECT_EQ(table("caf\xC3\xA9,b\n1,2\n").data.feature_names[0], "caf\xC3\xA9");
}

TEST(Table, AllNumberHeaderIsRefusedOrReadWithNoHeader) {
  EXPECT_HAS(error_of("1,2,3\n4,5,6\n"), "t.csv:1: line 1 looks like data, not a header (every cell is a number)");
  EXPECT_HAS(error_of("1,2,3\n4,5,6\n"), "--no-header");
  TableOptions o;
  o.header = false;
  const Table t = table("1,2,3\n4,5,6\n", o);
  EXPECT_EQ(t.data.feature_names, (std::vector<std::string>{"f0", "f1", "f2"}));
  EXPECT_EQ(t.data.X, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  o.label_column = "f2";
  EXPECT_EQ(*table("1,2,0\n4,5,1\n", o).data.labels, (std::vector<int>{0, 1}));
}

TEST(Table, WrongSeparatorGetsAHintAndSepReadsIt) {
  EXPECT_HAS(error_of("a;b;label\n1;2;0\n"), "the file looks ';'-separated: pass --sep ';'");
  EXPECT_HAS(error_of("a\tb\n1\t2\n"), "pass --sep tab");
  TableOptions o;
  o.sep = ';';
  const Table t = table("a; b;label\n1.5;2;0\n", o);
  EXPECT_EQ(t.data.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.data.X, (std::vector<float>{1.5f, 2}));
  EXPECT_HAS(error_of("a;b\n1,5;2\n", o), "non-numeric value \"1,5\"");  // ',' is an ordinary character then
  o.sep = '\t';
  EXPECT_EQ(table("a\tb\n1\t2\n", o).data.X, (std::vector<float>{1, 2}));
  o.sep = '"';
  EXPECT_THROW(table("a\n1\n", o), ParameterError);
}

TEST(Table, ColumnsDropAndIdChooseTheRoles) {
  const std::string text = "id,ts,a,b,c,label\nx1,2024-01-01,1,2,3,0\n\"x,2\",2024-01-02,4,5,6,1\n";
  TableOptions o;
  o.id_column = "id";
  o.drop = {"ts"};
  Table t = table(text, o);
  EXPECT_EQ(t.data.feature_names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(t.ids, (std::vector<std::string>{"x1", "x,2"}));
  EXPECT_EQ(t.unused_columns, std::vector<std::string>{"ts"});
  o.columns = {"c", "a"};  // in the order given
  t = table(text, o);
  EXPECT_EQ(t.data.feature_names, (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(t.data.X, (std::vector<float>{3, 1, 6, 4}));
  EXPECT_EQ(t.unused_columns, (std::vector<std::string>{"ts", "b"}));
  EXPECT_EQ(describe_columns(t), "features (2): c, a; label: label; ignored: ts, b");
  o.columns = {"a", "nope"};
  EXPECT_HAS(error_of(text, o), "feature column 'nope' not found; available columns: id, ts, a, b, c, label");
  o.columns = {"a", "a"};
  EXPECT_HAS(error_of(text, o), "feature column 'a' is already the feature column");
  o.columns = {"a", "label"};  // listed as a feature: then it is not the label
  EXPECT_EQ(table(text, o).data.feature_names, (std::vector<std::string>{"a", "label"}));
  EXPECT_FALSE(table(text, o).data.labels);
  o.label_column = "label";
  EXPECT_HAS(error_of(text, o), "feature column 'label' is already the label column");
  o.label_column.reset();
  o.columns = {};
  o.drop = {};
  EXPECT_HAS(error_of(text, o), "t.csv:2:2: column 'ts': non-numeric value \"2024-01-01\"; leave columns that are not "
                                "features out with --drop or --id-column");
}

TEST(Table, ModelFeaturesReadOnlyThoseColumnsInTheModelsOrder) {
  TableOptions o;
  o.model_features = {"b", "a"};
  const Table t = table("ts,a,note,b,label\n2024-01-01,1,hello,2,1\nyesterday,3,,4,0\n", o);
  EXPECT_EQ(t.data.feature_names, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(t.data.X, (std::vector<float>{2, 1, 4, 3}));
  EXPECT_EQ(*t.data.labels, (std::vector<int>{1, 0}));
  EXPECT_EQ(t.unused_columns, (std::vector<std::string>{"ts", "note"}));
  // Missing features: select_features' message, before any cell is parsed.
  EXPECT_HAS(error_of("a,ts\n1,x\n", o), "t.csv: missing feature column b");
  // A model trained (by the old bug) on a feature named "label": it is a feature, not the label.
  o.model_features = {"a", "label"};
  const Table old = table("a,label\n1,0\n", o);
  EXPECT_EQ(old.data.cols, 2u);
  EXPECT_FALSE(old.data.labels);
  // positional: a renamed header of the model's width.
  o.model_features = {"x", "y"};
  o.positional = true;
  EXPECT_EQ(table("p,q,label\n1,2,0\n", o).data.X, (std::vector<float>{1, 2}));
}

TEST(Table, HeaderOnlyIsAnErrorUnlessEmptyIsAllowed) {
  EXPECT_HAS(error_of("a,b\n"), "t.csv:1: the file has a header row but no data rows");
  TableOptions o;
  o.allow_empty = true;
  const Table t = table("a,b,label\n", o);
  EXPECT_EQ(t.data.rows, 0u);
  EXPECT_EQ(t.data.cols, 2u);
  ASSERT_TRUE(t.data.labels);
  EXPECT_TRUE(t.data.labels->empty());
}

}  // namespace
}  // namespace nomaly::test
