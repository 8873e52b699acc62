"""The special token ids every corpus and net agrees on: rows are padded with PAD, start from BOS, end with EOS."""

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]
