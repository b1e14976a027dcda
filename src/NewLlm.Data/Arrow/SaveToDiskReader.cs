using System.Security.Cryptography;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;

namespace NewLlm.Data;

/// <summary>Reads the Arrow IPC stream files of a Hugging Face <c>datasets</c> <c>save_to_disk</c> directory.</summary>
internal static class SaveToDiskReader
{
    /// <summary>Reads every row of the directory (or of its <paramref name="split"/> folder for a <c>DatasetDict</c>).</summary>
    public static async Task<(List<HhRlhfRow> Rows, List<string> Checksums, List<string> Files)> ReadAsync(
        string directory, HhRlhfSplit split, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"save_to_disk directory not found: '{directory}'.");
        }

        string splitDirectory = Path.Combine(directory, HhRlhfLayout.GetSplitName(split));
        if (Directory.Exists(splitDirectory) && !Directory.EnumerateFiles(directory, "data-*.arrow").Any())
        {
            directory = splitDirectory;
        }

        var files = await ListDataFilesAsync(directory, cancellationToken).ConfigureAwait(false);
        if (files.Count == 0)
        {
            throw new FileNotFoundException($"No Arrow data files (data-*.arrow) in '{directory}'.", Path.Combine(directory, "data-00000-of-00001.arrow"));
        }

        var rows = new List<HhRlhfRow>();
        var checksums = new List<string>();
        foreach (string file in files)
        {
            byte[] bytes = await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false);
            checksums.Add(Convert.ToHexStringLower(SHA256.HashData(bytes)));
            rows.AddRange(await ReadFileAsync(bytes, file, cancellationToken).ConfigureAwait(false));
        }

        if (rows.Count == 0)
        {
            throw new InvalidDataException($"The save_to_disk directory '{directory}' holds no rows.");
        }

        return (rows, checksums, files);
    }

    private static async Task<List<string>> ListDataFilesAsync(string directory, CancellationToken cancellationToken)
    {
        // state.json lists the files in order ("_data_files": [{"filename": ...}]); otherwise take them sorted by name.
        string state = Path.Combine(directory, "state.json");
        if (File.Exists(state))
        {
            try
            {
                using var json = JsonDocument.Parse(await File.ReadAllBytesAsync(state, cancellationToken).ConfigureAwait(false));
                if (json.RootElement.TryGetProperty("_data_files", out var dataFiles) && dataFiles.ValueKind == JsonValueKind.Array)
                {
                    var names = dataFiles.EnumerateArray().Select(e => e.GetProperty("filename").GetString() ?? string.Empty).ToList();
                    foreach (string name in names.Where(n => n.Length == 0 || n != Path.GetFileName(n)))
                    {
                        throw new InvalidDataException($"'{state}' lists '{name}', which is not a plain file name.");
                    }

                    var listed = names.Select(n => Path.Combine(directory, n)).ToList();
                    foreach (string f in listed.Where(f => !File.Exists(f)))
                    {
                        throw new FileNotFoundException($"'{state}' lists '{f}', which does not exist.", f);
                    }

                    return listed;
                }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new InvalidDataException($"'{state}' is not a valid datasets state file: {e.Message}", e);
            }
        }

        return Directory.EnumerateFiles(directory, "data-*.arrow").Order(StringComparer.Ordinal).ToList();
    }

    private static async Task<List<HhRlhfRow>> ReadFileAsync(byte[] bytes, string file, CancellationToken cancellationToken)
    {
        var rows = new List<HhRlhfRow>();
        try
        {
            using var reader = new ArrowStreamReader(new MemoryStream(bytes, writable: false));
            RecordBatch? batch;
            while ((batch = await reader.ReadNextRecordBatchAsync(cancellationToken).ConfigureAwait(false)) is not null)
            {
                using (batch)
                {
                    var chosen = GetStringColumn(batch, "chosen", file);
                    var rejected = GetStringColumn(batch, "rejected", file);
                    for (int i = 0; i < batch.Length; i++)
                    {
                        int rowNumber = rows.Count + 1;
                        string c = chosen(i) ?? throw new InvalidDataException($"'{file}' row {rowNumber}: 'chosen' is null.");
                        string r = rejected(i) ?? throw new InvalidDataException($"'{file}' row {rowNumber}: 'rejected' is null.");
                        rows.Add(new HhRlhfRow(c, r));
                    }
                }
            }
        }
        catch (Exception e) when (e is not InvalidDataException and not OperationCanceledException)
        {
            throw new InvalidDataException($"'{file}' is not a readable Arrow IPC stream: {e.Message}", e);
        }

        return rows;
    }

    private static Func<int, string?> GetStringColumn(RecordBatch batch, string name, string file)
    {
        int index = batch.Schema.GetFieldIndex(name);
        if (index < 0)
        {
            throw new InvalidDataException($"'{file}' has no '{name}' column (columns: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name))}).");
        }

        return batch.Column(index) switch
        {
            StringArray s => i => s.IsNull(i) ? null : s.GetString(i),
            LargeStringArray s => i => s.IsNull(i) ? null : s.GetString(i),
            StringViewArray s => i => s.IsNull(i) ? null : s.GetString(i),
            var other => throw new InvalidDataException($"'{file}' column '{name}' is {other.Data.DataType.Name}, not a string column."),
        };
    }
}
