using System.Collections;
using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Serialization;

namespace NewLlm.Data;

/// <summary>
/// Streams the rows of a Parquet file row group by row group with Parquet.Net (memory bounded by one row group), each
/// row's requested columns as JSON (strings, numbers, lists, structs); every failure an <see cref="InvalidDataException"/>
/// naming the file (and row group).
/// </summary>
/// <remarks>
/// Parquet.Net's untyped deserialiser reassembles nested columns (<c>messages</c>: list of struct) from their repetition
/// and definition levels, so no level decoding is written here.
/// </remarks>
internal static class ParquetRowReader
{
    /// <summary>The file's row count, from its metadata.</summary>
    public static async Task<long> CountRowsAsync(string path, CancellationToken cancellationToken)
    {
        await using var reader = await OpenAsync(path, cancellationToken).ConfigureAwait(false);
        long rows = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            rows += reader.OpenRowGroupReader(g).RowCount;
        }

        return rows > 0 ? rows : throw new InvalidDataException($"'{path}' holds no rows.");
    }

    /// <summary>
    /// Streams the rows with the named top-level columns. Parquet.Net decodes a row group whole, so a row's strings are
    /// measured against <paramref name="limit"/> once decoded, before the row goes further.
    /// </summary>
    public static async IAsyncEnumerable<SourceRow> ReadAsync(string path, IReadOnlyList<string> columns, RowLimit limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        int groups;
        await using (var reader = await OpenAsync(path, cancellationToken).ConfigureAwait(false))
        {
            string[] names = [.. reader.Schema.Fields.Select(f => f.Name)];
            foreach (string column in columns.Where(c => !names.Contains(c, StringComparer.Ordinal)))
            {
                throw new InvalidDataException($"'{path}' has no '{column}' column (columns: {string.Join(", ", names)}).");
            }

            groups = reader.RowGroupCount;
        }

        for (int g = 0; g < groups; g++)
        {
            IList<Dictionary<string, object>> data;
            try
            {
                await using var stream = File.OpenRead(path);
                var result = await ParquetSerializer.DeserializeUntypedAsync(stream, null, g, cancellationToken).ConfigureAwait(false);
                data = result.Data;
            }
            catch (Exception e) when (e is not OperationCanceledException and not InvalidDataException)
            {
                throw new InvalidDataException($"'{path}' row group {g} cannot be read ({e.Message}).", e);
            }

            for (int r = 0; r < data.Count; r++)
            {
                var location = RowLocation.InRowGroup(path, g, r);
                var budget = limit.Start(location.ToString());
                var fields = new JsonObject();
                foreach (string column in columns)
                {
                    if (data[r].TryGetValue(column, out object? value))
                    {
                        fields[column] = ToJson(value, path, column, budget);
                    }
                }

                yield return new SourceRow(fields, location);
            }
        }
    }

    private static async Task<ParquetReader> OpenAsync(string path, CancellationToken cancellationToken)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"Parquet file not found: '{path}'.", path);
        }

        if (info.Length == 0)
        {
            throw new InvalidDataException($"'{path}' is empty (0 bytes); it holds no rows.");
        }

        try
        {
            return await ParquetReader.CreateAsync(path, null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidDataException($"'{path}' is not a readable Parquet file ({e.Message}).", e);
        }
    }

    private static JsonNode? ToJson(object? value, string path, string column, RowLimit.Budget budget) => value switch
    {
        null => null,
        string s when budget.Take(Encoding.UTF8.GetByteCount(s)) => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int or long or short or sbyte or byte or ushort or uint or ulong or float or double or decimal => JsonValue.Create(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
        IDictionary<string, object> map => new JsonObject(map.Select(p => KeyValuePair.Create(p.Key, ToJson(p.Value, path, column, budget)))),
        byte[] => throw new InvalidDataException($"'{path}' column '{column}' holds binary values, not text."),
        IEnumerable items => new JsonArray([.. items.Cast<object?>().Select(v => ToJson(v, path, column, budget))]),
        _ => throw new InvalidDataException($"'{path}' column '{column}' holds {value.GetType().Name} values, which are not read."),
    };
}
