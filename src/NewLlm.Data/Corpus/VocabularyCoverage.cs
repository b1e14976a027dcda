namespace NewLlm.Data;

/// <summary>
/// How much of the training text's words a word-level vocabulary leaves unknown (<c>&lt;UNK&gt;</c>), beside what a
/// vocabulary of the same size built from these rows would leave: a checkpoint's vocabulary carried to a new level is
/// worth keeping when the two are close.
/// </summary>
/// <param name="UnknownRate">The share of the counted words (with repeats) outside the vocabulary used.</param>
/// <param name="RebuiltUnknownRate">The same share for a vocabulary rebuilt from the rows.</param>
/// <param name="WordsCounted">The words counted (those of the rows the vocabulary is built from).</param>
public sealed record VocabularyCoverage(double UnknownRate, double RebuiltUnknownRate, long WordsCounted);
