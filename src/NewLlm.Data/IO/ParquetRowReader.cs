namespace NewLlm.Data;

// Placeholder until branch parquet-rows lands.
internal static class ParquetRowReader
{
    public static Task<long> CountRowsAsync(string path, CancellationToken cancellationToken) => throw new NotSupportedException(path);

    public static IAsyncEnumerable<SourceRow> ReadAsync(string path, IReadOnlyList<string> columns, CancellationToken cancellationToken) => throw new NotSupportedException(path);
}
