namespace NewLlm.Data;

/// <summary>How far the preparation of a <see cref="DialogueCorpus"/> is.</summary>
/// <param name="Stage"><c>counting</c>, <c>vocabulary</c> or <c>tokenizing</c>.</param>
/// <param name="Rows">Rows read so far in this stage.</param>
/// <param name="TotalRows">Rows this stage reads in all, when known.</param>
public sealed record CorpusProgress(string Stage, long Rows, long? TotalRows);
