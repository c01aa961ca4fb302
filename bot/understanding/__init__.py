"""Understanding a message: what it means, beyond the words it shares with a passage.

The parts, each a module:
- `encoder`: the multilingual sentence encoder behind a one-function seam, and the
  artifact of vectors computed ahead of time for the knowledge base;
- `semantic`: the passages ranked by meaning, through their texts in four languages and
  the questions they are known to be asked as (`knowledge/asked_as.yaml`);
- `ngrams`: character n-grams of a folded text (typos, missing accents, dialect spelling);
- `linear`: the learned linear models as data (`knowledge/models/`), applied with NumPy;
- `decision`: whether the best passages answer, learned from labelled questions;
- `training`: `kb train`, which fits the models from `knowledge/` and reports them.

Nothing here touches a channel or storage.
"""
