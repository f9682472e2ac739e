// Structural check of ai.onnx.ml TreeEnsemble{Regressor,Classifier} nodes before ONNX Runtime sees them.
// ORT follows nodes_truenodeids / nodes_falsenodeids without detecting cycles: a (malicious or corrupt) tree
// whose branches loop makes every Run spin forever (found by fuzz_onnx). So every branch must point to a node
// of the same tree, and the branches of each tree must form no cycle.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "onnx/proto_util.hpp"

namespace nomaly::onnx_detail {

namespace {

const ::onnx::AttributeProto* find_attr(const ::onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::string check_tree_node(const ::onnx::NodeProto& n) {
  const std::string what = n.op_type() + " node '" + n.name() + "'";
  const auto* tree = find_attr(n, "nodes_treeids");
  const auto* id = find_attr(n, "nodes_nodeids");
  const auto* mode = find_attr(n, "nodes_modes");
  const auto* yes = find_attr(n, "nodes_truenodeids");
  const auto* no = find_attr(n, "nodes_falsenodeids");
  if (!tree || !id || !mode || !yes || !no) return what + ": missing nodes_* attributes";
  const int count = tree->ints_size();
  if (id->ints_size() != count || mode->strings_size() != count || yes->ints_size() != count || no->ints_size() != count)
    return what + ": nodes_* attributes have different lengths";
  std::map<std::pair<std::int64_t, std::int64_t>, int> index;  // (tree, node id) -> position
  for (int i = 0; i < count; ++i)
    if (!index.emplace(std::make_pair(tree->ints(i), id->ints(i)), i).second)
      return what + ": tree " + std::to_string(tree->ints(i)) + " has node id " + std::to_string(id->ints(i)) + " twice";
  // children[i]: positions of the branches of node i (none for a leaf).
  std::vector<std::vector<int>> children(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    if (mode->strings(i) == "LEAF") continue;
    for (const std::int64_t child : {yes->ints(i), no->ints(i)}) {
      const auto it = index.find({tree->ints(i), child});
      if (it == index.end())
        return what + ": tree " + std::to_string(tree->ints(i)) + " node " + std::to_string(id->ints(i)) +
               " branches to node " + std::to_string(child) + ", which the tree does not have";
      children[static_cast<std::size_t>(i)].push_back(it->second);
    }
  }
  // Iterative three-colour DFS: a grey node reached again closes a cycle.
  std::vector<char> colour(static_cast<std::size_t>(count), 0);  // 0 white, 1 grey, 2 black
  for (int start = 0; start < count; ++start) {
    if (colour[static_cast<std::size_t>(start)]) continue;
    std::vector<std::pair<int, std::size_t>> stack{{start, 0}};
    colour[static_cast<std::size_t>(start)] = 1;
    while (!stack.empty()) {
      auto& [v, next] = stack.back();
      const auto& ch = children[static_cast<std::size_t>(v)];
      if (next == ch.size()) {
        colour[static_cast<std::size_t>(v)] = 2;
        stack.pop_back();
        continue;
      }
      const int c = ch[next++];
      if (colour[static_cast<std::size_t>(c)] == 1)
        return what + ": tree " + std::to_string(tree->ints(c)) + " has a cycle through node " + std::to_string(id->ints(c));
      if (colour[static_cast<std::size_t>(c)] == 0) {
        colour[static_cast<std::size_t>(c)] = 1;
        stack.emplace_back(c, 0);
      }
    }
  }
  return {};
}

std::string check_graph(const ::onnx::GraphProto& g) {
  for (const auto& n : g.node()) {
    if (n.domain() == "ai.onnx.ml" && (n.op_type() == "TreeEnsembleRegressor" || n.op_type() == "TreeEnsembleClassifier"))
      if (std::string err = check_tree_node(n); !err.empty()) return err;
    for (const auto& a : n.attribute()) {  // Loop / If / Scan bodies
      if (a.has_g())
        if (std::string err = check_graph(a.g()); !err.empty()) return err;
      for (const auto& sub : a.graphs())
        if (std::string err = check_graph(sub); !err.empty()) return err;
    }
  }
  return {};
}

}  // namespace

std::string check_tree_ensembles(const ::onnx::ModelProto& model) { return check_graph(model.graph()); }

}  // namespace nomaly::onnx_detail
