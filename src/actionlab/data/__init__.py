"""Datasets as lists of samples: UCF101, HMDB51, class folders, path lists, Stanford40 images, synthetic.

`load_dataset(kind, root, **options)` and `dataset_from_spec("ucf101:ROOT", annotations=..., split=...)`
return a `Dataset` with `classes` (names in label order), `train`, `test`, `val` lists of `Sample`
(`path`, 0-based `label`, `group` or None, `dataset` id) and the `problems` found in annotation files.
Indexing only checks that files exist; it never decodes videos.

Joint datasets (training on several at once): `joint_dataset([a, b])` returns a Dataset whose `parts` are the
input datasets and `dataset_names` their names. Each sample keeps its own dataset's label (an index into
`parts[sample.dataset].classes`) and gets `dataset` = the index of its part. `classes` lists every part's
classes as `"name:class"`, concatenated in part order; `global_label(sample)` maps a sample to that
concatenated label space (for a single shared head). A single dataset has `parts == []`.
"""

from actionlab.data.dataset import Dataset, Problem, Sample, joint_dataset
from actionlab.data.load import (
    KINDS,
    add_dataset_args,
    dataset_from_args,
    dataset_from_spec,
    load_dataset,
    parse_spec,
)
from actionlab.data.split import stratified_split

__all__ = [
    "KINDS",
    "Dataset",
    "Problem",
    "Sample",
    "add_dataset_args",
    "dataset_from_args",
    "dataset_from_spec",
    "joint_dataset",
    "load_dataset",
    "parse_spec",
    "stratified_split",
]
