namespace NewLlm.Data;

/// <summary>Rows held in memory, each row's ids in its own array (as <see cref="CorpusEncoder"/> makes them).</summary>
internal sealed class ArrayTokenRows(int[][] rows, long[] byteCounts) : TokenRows
{
    public override int Count => rows.Length;

    public override ReadOnlySpan<int> GetTokens(int index) => rows[index];

    public override long GetByteCount(int index) => byteCounts[index];
}
