"""nomaly.read_csv is the CLI's reader (issue 15): the same file gives the same columns and label."""
import json
import os
import subprocess

import numpy as np
import pytest

import nomaly

CLI = os.path.join(os.environ.get("NOMALY_BUILD_DIR", "build"), "nomaly")


def test_label_found_by_name_as_the_cli_does(tmp_path):
    # Blanks after commas, a BOM, CRLF and a label named LABEL: it read "label" as a feature by default.
    f = tmp_path / "messy.csv"
    f.write_bytes(b"\xef\xbb\xbfid, a, b, LABEL\r\nx1, 1, 2, 0\r\nx2, 2, 1, 0\r\nx3, 9, 9, 1\r\n")
    X, names, labels, ids = nomaly.read_csv(f, id_column="id", return_ids=True)
    assert names == ["a", "b"] and ids == ["x1", "x2", "x3"]
    assert labels.tolist() == [0, 0, 1]
    np.testing.assert_array_equal(X, np.array([[1, 2], [2, 1], [9, 9]], dtype=np.float32))
    if os.path.exists(CLI):
        out = subprocess.run([CLI, "detect", "-a", "hbos", "-i", str(f), "--id-column", "id", "--json"],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["feature_names"] == names
    assert nomaly.read_csv(f, label_column="", drop=["id"])[1] == ["a", "b", "LABEL"]


def test_separator_and_no_header_options(tmp_path):
    f = tmp_path / "semi.csv"
    f.write_text("a;b;label\n1;2;0\n3;4;1\n")
    with pytest.raises(nomaly.DataError, match="looks ';'-separated"):
        nomaly.read_csv(f)
    assert nomaly.read_csv(f, sep=";")[1] == ["a", "b"]
    g = tmp_path / "raw.csv"
    g.write_text("1,2\n3,4\n")
    X, names, labels = nomaly.read_csv(g, header=False)
    assert names == ["f0", "f1"] and X.shape == (2, 2) and labels is None


def test_a_windows_1252_byte_is_named_in_the_message(tmp_path):
    f = tmp_path / "cp.csv"
    f.write_bytes(b"a,b\n1,2\n7\xa0,3\n")
    with pytest.raises(nomaly.DataError, match=r':3:1: column \'a\': non-numeric value "7\\xA0"'):
        nomaly.read_csv(f)
