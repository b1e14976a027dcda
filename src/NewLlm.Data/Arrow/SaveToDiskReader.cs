namespace NewLlm.Data;

/// <summary>Reads the HH-RLHF rows of a Hugging Face <c>datasets</c> <c>save_to_disk</c> directory (through <see cref="ArrowRowReader"/>).</summary>
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

        var files = ArrowRowReader.ListDataFiles(directory, HhRlhfLayout.GetSplitName(split)).ToList();
        var rows = new List<HhRlhfRow>();
        var checksums = new List<string>();
        foreach (string file in files)
        {
            checksums.Add(await SourceFiles.Sha256Async(file, cancellationToken).ConfigureAwait(false));
            await foreach (var row in ArrowRowReader.ReadAsync(file, ["chosen", "rejected"], RowLimit.Default, cancellationToken).ConfigureAwait(false))
            {
                rows.Add(new HhRlhfRow(RowFields.RequiredString(row, "chosen"), RowFields.RequiredString(row, "rejected")));
            }
        }

        if (rows.Count == 0)
        {
            throw new InvalidDataException($"The save_to_disk directory '{directory}' holds no rows.");
        }

        return (rows, checksums, files);
    }
}
