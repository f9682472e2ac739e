// read_table: header rules and column roles (label, id, features, unused), then one pass over the rows that parses
// only the cells it keeps. Records and cells come from core/csv_records.hpp.
#include "nomaly/table.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <unordered_map>

#include "core/csv_records.hpp"
#include "nomaly/columns.hpp"
#include "nomaly/errors.hpp"

namespace nomaly {

using namespace detail;

namespace {

enum class Role : unsigned char { Unused, Feature, Label, Id };

/// Offset of the first byte of `s` that does not start (or continue) a valid UTF-8 sequence, or npos.
std::size_t utf8_error(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_length(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

/// A name for a message: control characters and bytes ≥ 0x80 as \xNN, so it is plain ASCII.
std::string ascii_name(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x80) {
      out += escape_text(std::string_view(&c, 1));
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned char>(c));
      out += hex;
    }
  }
  return out;
}

/// The label names found without --label-column: "label" in any ASCII case, or "is_anomaly".
bool is_label_name(const std::string& n) {
  std::string low = n;
  for (char& c : low) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return low == "label" || low == "is_anomaly";
}

std::string sep_text(char c) { return c == '\t' ? "tab ('\\t')" : "'" + std::string(1, c) + "'"; }

/// The header's checks that need the raw cells: UTF-8, a data row read as a header, a wrong separator.
void check_header_cells(const std::vector<std::string_view>& cells, const TableOptions& o, const std::string& file) {
  for (std::size_t c = 0; c < cells.size(); ++c) {
    const std::size_t bad = utf8_error(cells[c]);
    if (bad == std::string_view::npos) continue;
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(cells[c][bad]));
    throw CsvError(file, 1, c + 1,
                   "column " + std::to_string(c + 1) + "'s name \"" + ascii_name(cells[c]) + "\" is not valid UTF-8 (byte " +
                       byte + " at offset " + std::to_string(bad) + " of the name); save the file as UTF-8");
  }
  const bool all_numbers = std::all_of(cells.begin(), cells.end(), [](std::string_view s) {
    float v = 0;
    const NumStatus st = parse_float(s, v);
    return st == NumStatus::Ok || st == NumStatus::Overflow;
  });
  if (all_numbers)
    throw CsvError(file, 1, 0,
                   "line 1 looks like data, not a header (every cell is a number): add a header row, or read the file "
                   "without one (--no-header; TableOptions::header = false) to name the columns f0..f" +
                       std::to_string(cells.size() - 1));
  if (cells.size() == 1) {
    for (const char s : {';', '\t', '|', ','}) {
      if (s == o.sep || cells[0].find(s) == std::string_view::npos) continue;
      throw CsvError(file, 1, 0,
                     "the header reads as one column " + quote_cell(cells[0]) + " with the separator " + sep_text(o.sep) +
                         "; the file looks " + sep_text(s) + "-separated: pass --sep " +
                         (s == '\t' ? std::string("tab") : "'" + std::string(1, s) + "'"));
    }
  }
}

/// Column names from the header cells: empty names only when dropped, no duplicates.
std::vector<std::string> header_names(const std::vector<std::string_view>& cells, const TableOptions& o,
                                      const std::string& file) {
  std::vector<std::string> names;
  std::unordered_map<std::string, std::size_t> seen;
  for (std::size_t c = 0; c < cells.size(); ++c) {
    std::string n(cells[c]);
    if (n.empty() && std::find(o.drop.begin(), o.drop.end(), "") == o.drop.end())
      throw CsvError(file, 1, c + 1, "column " + std::to_string(c + 1) + " has an empty name in the header");
    auto [it, fresh] = seen.emplace(n, c);
    if (!fresh)
      throw CsvError(file, 1, c + 1,
                     "duplicate column name '" + escape_text(n) + "' (also column " + std::to_string(it->second + 1) + ")");
    names.push_back(std::move(n));
  }
  return names;
}

/// Roles of the columns and the output position of each feature column, from the header alone.
struct Layout {
  std::vector<Role> role;
  std::vector<std::size_t> feature_pos;  // per column; meaningful where role == Feature
  std::vector<std::string> features;     // output order
  std::string label;
  bool auto_label = false;  // found by name, not asked for
};

Layout plan_columns(const std::vector<std::string>& names, const TableOptions& o, const std::string& file) {
  Layout l;
  l.role.assign(names.size(), Role::Unused);
  l.feature_pos.assign(names.size(), 0);
  const auto col = [&](const std::string& n, const std::string& what) {
    const auto it = std::find(names.begin(), names.end(), n);
    if (it == names.end())
      throw CsvError(file, 1, 0, what + " '" + escape_text(n) + "' not found; available columns: " + join_names(names));
    return static_cast<std::size_t>(it - names.begin());
  };
  const auto taken = [&](std::size_t c, const std::string& what) {
    if (l.role[c] == Role::Unused) return;
    throw CsvError(file, 1, c + 1,
                   what + " '" + escape_text(names[c]) + "' is already the " +
                       (l.role[c] == Role::Label ? "label" : l.role[c] == Role::Id ? "id" : "feature") + " column");
  };
  const auto& mf = o.model_features;
  if (o.label_column) {
    if (!o.label_column->empty()) l.role[col(*o.label_column, "label column")] = Role::Label;
  } else {
    // "label" in any case (Label, LABEL) or "is_anomaly": such a column used as a feature gives silently wrong
    // scores. A name the model has as a feature, or listed in `columns`, is a feature; two candidates: ambiguous.
    std::vector<std::size_t> found;
    for (std::size_t c = 0; c < names.size(); ++c)
      if (is_label_name(names[c]) && std::find(mf.begin(), mf.end(), names[c]) == mf.end() &&
          std::find(o.columns.begin(), o.columns.end(), names[c]) == o.columns.end())
        found.push_back(c);
    if (found.size() > 1)
      throw CsvError(file, 1, found[1] + 1,
                     "two label columns ('" + escape_text(names[found[0]]) + "' and '" + escape_text(names[found[1]]) +
                         "'): choose one with --label-column NAME (TableOptions::label_column)");
    if (found.size() == 1) {
      l.role[found[0]] = Role::Label;
      l.auto_label = true;
    }
  }
  if (!o.id_column.empty()) {
    const std::size_t c = col(o.id_column, "id column");
    taken(c, "id column");
    l.role[c] = Role::Id;
  }
  std::vector<bool> dropped(names.size(), false);
  for (const auto& d : o.drop) {
    const std::size_t c = col(d, "ignored column");
    taken(c, "ignored column");
    dropped[c] = true;
  }
  std::vector<std::string> candidates;
  for (std::size_t c = 0; c < names.size(); ++c)
    if (l.role[c] == Role::Unused && !dropped[c]) candidates.push_back(names[c]);

  std::vector<std::string> chosen;
  if (!mf.empty()) {
    // The header alone decides the match (select_features' rule), so unused text columns are never parsed.
    Dataset header_only;
    header_only.cols = candidates.size();
    header_only.feature_names = candidates;
    chosen = select_features(std::move(header_only), mf, o.positional, file).feature_names;
  } else if (!o.columns.empty()) {
    for (const auto& n : o.columns) {
      const std::size_t c = col(n, "feature column");
      taken(c, "feature column");
      if (dropped[c]) throw CsvError(file, 1, c + 1, "feature column '" + escape_text(n) + "' is also dropped");
      l.role[c] = Role::Feature;  // marks it, so a repeated name reports "already the feature column"
    }
    chosen = o.columns;
  } else {
    chosen = candidates;
  }
  for (std::size_t k = 0; k < chosen.size(); ++k) {
    const std::size_t c = col(chosen[k], "feature column");
    l.role[c] = Role::Feature;
    l.feature_pos[c] = k;
  }
  l.features = std::move(chosen);
  if (l.features.empty())
    throw CsvError(file, 1, 0, "no feature columns: every column is the label column, the id column or ignored");
  for (std::size_t c = 0; c < names.size(); ++c)
    if (l.role[c] == Role::Label) l.label = names[c];
  return l;
}

}  // namespace

Table read_table(const std::string& path, const TableOptions& options) {
  if (path == "-") return read_table(std::cin, "<stdin>", options);
  std::ifstream f = open_input(path);
  return read_table(f, path, options);
}

Table read_table(std::istream& in, const std::string& name, const TableOptions& o) {
  if (o.sep == '"' || o.sep == '\n' || o.sep == '\r' || o.sep == '\0')
    throw ParameterError("the field separator cannot be a quote, a newline or NUL");
  RecordReader rr(in, name, o.max_line_bytes, o.sep);
  std::vector<std::string_view> fields;
  std::deque<std::string> scratch;
  split_fields(read_header(rr, name), o.sep, fields, scratch, name, 1);

  std::vector<std::string> names;
  if (o.header) {
    check_header_cells(fields, o, name);
    names = header_names(fields, o, name);
  } else {
    for (std::size_t c = 0; c < fields.size(); ++c) names.push_back("f" + std::to_string(c));
  }
  const Layout l = plan_columns(names, o, name);

  Table t;
  Dataset& ds = t.data;
  ds.feature_names = l.features;
  ds.cols = l.features.size();
  t.label_column = l.label;
  for (std::size_t c = 0; c < names.size(); ++c)
    if (l.role[c] == Role::Unused) t.unused_columns.push_back(names[c]);
  // A text column (an id, a timestamp) fails on the first data row: point to the column options there. A bad cell
  // further down a numeric column is a data problem, not a column choice.
  const char* hint = "; leave columns that are not features out with --drop or --id-column";
  std::vector<int> labels;
  // Scoring reads a label it was not asked for only for metrics: one that is not 0/1 (2, -1, yes) is ignored,
  // as the bundle's deploy scripts ignore it, instead of refusing data whose features are fine.
  const bool lenient_label = l.auto_label && !o.model_features.empty();
  std::string label_unused;
  const auto take = [&](std::size_t line) {
    if (fields.size() != names.size()) ragged(name, line, names.size(), fields.size(), names);
    const std::size_t base = ds.X.size();
    ds.X.resize(base + ds.cols);
    for (std::size_t c = 0; c < fields.size(); ++c) {
      switch (l.role[c]) {
        case Role::Feature:
          ds.X[base + l.feature_pos[c]] = parse_cell(fields[c], o.reject_non_finite, name, line, c + 1, names[c],
                                                     ds.rows == 0 && o.model_features.empty() ? hint : "");
          break;
        case Role::Label:
          if (lenient_label) {
            float v = 0;
            const bool ok = parse_float(fields[c], v) == NumStatus::Ok && (v == 0.0f || v == 1.0f);
            if (!ok && label_unused.empty())
              label_unused = "line " + std::to_string(line) + " holds " + quote_cell(trim(fields[c]));
            labels.push_back(v == 1.0f ? 1 : 0);
          } else {
            labels.push_back(parse_label(fields[c], name, line, c + 1, names[c]));
          }
          break;
        case Role::Id: t.ids.emplace_back(fields[c]); break;
        case Role::Unused: break;
      }
    }
    ++ds.rows;
  };
  if (!o.header) take(1);  // the first record is data; its views die at the next read
  DataRecords records(rr, name);
  std::string_view rec;
  std::size_t line = 0;
  while (records.next(rec, line)) {
    split_fields(rec, o.sep, fields, scratch, name, line);
    take(line);
  }
  if (ds.rows == 0 && !o.allow_empty) throw CsvError(name, 1, 0, "the file has a header row but no data rows");
  if (!label_unused.empty()) {
    t.unused_columns.push_back(l.label);
    t.label_note = "column '" + escape_text(l.label) + "' not used as the label: " + label_unused + ", not 0 or 1";
    t.label_column.clear();
  } else if (!l.label.empty()) {
    ds.labels = std::move(labels);
  }
  return t;
}

std::string describe_columns(const Table& t) {
  std::string s = "features (" + std::to_string(t.data.cols) + "): " + join_names(t.data.feature_names);
  s += "; label: " + (t.label_column.empty() ? std::string("none") : escape_text(t.label_column));
  if (!t.unused_columns.empty()) s += "; ignored: " + join_names(t.unused_columns);
  return s;
}

}  // namespace nomaly
