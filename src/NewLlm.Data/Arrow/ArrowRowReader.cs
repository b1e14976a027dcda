namespace NewLlm.Data;

// Placeholder until branch arrow-rows lands.
internal static class ArrowRowReader
{
    public static Task<long> CountRowsAsync(string path, CancellationToken cancellationToken) => throw new NotSupportedException(path);

    public static IReadOnlyList<string> ListDataFiles(string directory, string? splitName) => throw new NotSupportedException(directory + splitName);

    public static IAsyncEnumerable<SourceRow> ReadAsync(string path, IReadOnlyList<string> columns, CancellationToken cancellationToken) => throw new NotSupportedException(path);
}
