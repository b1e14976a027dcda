using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;

namespace NewLlm.Data;

/// <summary>
/// Streams the rows of the Arrow IPC stream files of a <c>datasets</c> <c>save_to_disk</c> folder record batch by record
/// batch (memory bounded by one batch), each row's requested columns as JSON; every failure an
/// <see cref="InvalidDataException"/> naming the file (and row).
/// </summary>
internal static class ArrowRowReader
{
    /// <summary>
    /// The data files of a <c>save_to_disk</c> folder in dataset order (<c>state.json</c>'s <c>_data_files</c>, else the
    /// <c>data-*.arrow</c> files by name); for a <c>DatasetDict</c>, those of its <paramref name="splitName"/> folder.
    /// </summary>
    public static IReadOnlyList<string> ListDataFiles(string directory, string splitName)
    {
        string folder = directory;
        string dictionary = Path.Combine(directory, "dataset_dict.json");
        if (!File.Exists(Path.Combine(directory, "state.json")) && !Directory.EnumerateFiles(directory, "data-*.arrow").Any())
        {
            folder = Path.Combine(directory, splitName);
            if (!Directory.Exists(folder))
            {
                string[] splits = [.. Directory.EnumerateDirectories(directory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];
                throw new FileNotFoundException(
                    $"'{directory}' is a save_to_disk DatasetDict{(File.Exists(dictionary) ? string.Empty : " (or should be)")} with splits {(splits.Length == 0 ? "(none)" : string.Join(", ", splits))}; it has no '{splitName}' split.",
                    folder);
            }
        }

        string state = Path.Combine(folder, "state.json");
        if (File.Exists(state))
        {
            try
            {
                using var json = JsonDocument.Parse(File.ReadAllBytes(state));
                var names = json.RootElement.GetProperty("_data_files").EnumerateArray().Select(e => e.GetProperty("filename").GetString() ?? string.Empty).ToList();
                foreach (string name in names.Where(n => n.Length == 0 || n != Path.GetFileName(n)))
                {
                    throw new InvalidDataException($"'{state}' lists '{name}', which is not a plain file name.");
                }

                var listed = names.Select(n => Path.GetFullPath(Path.Combine(folder, n))).ToList();
                foreach (string f in listed.Where(f => !File.Exists(f)))
                {
                    throw new FileNotFoundException($"'{state}' lists '{f}', which does not exist.", f);
                }

                return listed;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new InvalidDataException($"'{state}' is not a valid datasets state file: {e.Message}", e);
            }
        }

        var files = Directory.EnumerateFiles(folder, "data-*.arrow").Order(StringComparer.Ordinal).Select(Path.GetFullPath).ToList();
        return files.Count > 0
            ? files
            : throw new FileNotFoundException($"No Arrow data files (data-*.arrow) in '{folder}'.", Path.Combine(folder, "data-00000-of-00001.arrow"));
    }

    /// <summary>The number of rows of a file (reading it batch by batch).</summary>
    public static async Task<long> CountRowsAsync(string path, CancellationToken cancellationToken)
    {
        long rows = 0;
        await foreach (var batch in ReadBatchesAsync(path, cancellationToken).ConfigureAwait(false))
        {
            using (batch)
            {
                rows += batch.Length;
            }
        }

        return rows > 0 ? rows : throw new InvalidDataException($"'{path}' holds no rows.");
    }

    /// <summary>Streams the rows with the named top-level columns.</summary>
    /// <remarks>A row's strings are measured from their offsets before any is decoded; a row over <paramref name="limit"/> is an <see cref="InvalidDataException"/>.</remarks>
    public static async IAsyncEnumerable<SourceRow> ReadAsync(string path, IReadOnlyList<string> columns, RowLimit limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long row = 0;
        await foreach (var batch in ReadBatchesAsync(path, cancellationToken).ConfigureAwait(false))
        {
            using (batch)
            {
                var arrays = new List<(string Name, IArrowArray Array)>();
                foreach (string column in columns)
                {
                    int index = batch.Schema.GetFieldIndex(column);
                    if (index < 0)
                    {
                        throw new InvalidDataException($"'{path}' has no '{column}' column (columns: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name))}).");
                    }

                    arrays.Add((column, batch.Column(index)));
                }

                for (int i = 0; i < batch.Length; i++, row++)
                {
                    var fields = new JsonObject();
                    var location = RowLocation.AtRow(path, row);
                    var budget = limit.Start(location.ToString());
                    foreach (var (name, array) in arrays)
                    {
                        fields[name] = ToJson(array, i, path, name, budget);
                    }

                    yield return new SourceRow(fields, location);
                }
            }
        }
    }

    private static async IAsyncEnumerable<RecordBatch> ReadBatchesAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"Arrow file not found: '{path}'.", path);
        }

        if (info.Length == 0)
        {
            throw new InvalidDataException($"'{path}' is empty (0 bytes); it holds no rows.");
        }

        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        using var reader = new ArrowStreamReader(stream);
        while (true)
        {
            RecordBatch? batch;
            try
            {
                batch = await reader.ReadNextRecordBatchAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new InvalidDataException($"'{path}' is not a readable Arrow IPC stream: {e.Message}", e);
            }

            if (batch is null)
            {
                yield break;
            }

            yield return batch;
        }
    }

    private static JsonNode? ToJson(IArrowArray array, int index, string path, string column, RowLimit.Budget budget)
    {
        if (array.IsNull(index))
        {
            return null;
        }

        return array switch
        {
            StringArray s when budget.Take(s.GetBytes(index).Length) => JsonValue.Create(s.GetString(index)),
            LargeStringArray s when budget.Take(s.GetBytes(index).Length) => JsonValue.Create(s.GetString(index)),
            StringViewArray s when budget.Take(s.GetBytes(index).Length) => JsonValue.Create(s.GetString(index)),
            BooleanArray b => JsonValue.Create(b.GetValue(index)),
            Int32Array n => JsonValue.Create(n.GetValue(index)),
            Int64Array n => JsonValue.Create(n.GetValue(index)),
            DoubleArray n => JsonValue.Create(n.GetValue(index)),
            FloatArray n => JsonValue.Create(n.GetValue(index)),
            ListArray list => Items(list.Values, list.ValueOffsets[index], list.ValueOffsets[index + 1], path, column, budget),
            LargeListArray list => Items(list.Values, checked((int)list.ValueOffsets[index]), checked((int)list.ValueOffsets[index + 1]), path, column, budget),
            StructArray s => new JsonObject(((StructType)s.Data.DataType).Fields.Select((f, k) => KeyValuePair.Create(f.Name, ToJson(s.Fields[k], index, path, column, budget)))),
            _ => throw new InvalidDataException($"'{path}' column '{column}' is {array.Data.DataType.Name}, which is not read (strings, numbers, lists and structs are)."),
        };
    }

    private static JsonArray Items(IArrowArray values, int start, int end, string path, string column, RowLimit.Budget budget) =>
        new([.. Enumerable.Range(start, end - start).Select(k => ToJson(values, k, path, column, budget))]);
}
