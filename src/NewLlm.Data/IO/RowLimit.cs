namespace NewLlm.Data;

/// <summary>
/// The largest row a reader takes (<see cref="DialogueCorpusOptions.MaxRowBytes"/>), checked before the row is held whole
/// or decoded: a JSON Lines line as it is scanned, an Arrow row's strings from their offsets, a Parquet row once Parquet.Net
/// has decoded its row group; and what to say when a row is larger (<paramref name="Remedy"/>: a sentence without a full stop).
/// </summary>
internal sealed record RowLimit(int MaxBytes, string Remedy)
{
    /// <summary>The default limit, for readers that take no options (HH-RLHF loads, telling a file's format from its first row).</summary>
    public static RowLimit Default { get; } = new(
        DialogueCorpusOptions.DefaultMaxRowBytes,
        "Rows this large are read only through DialogueCorpus, with a larger DialogueCorpusOptions.MaxRowBytes (and, for a JSON Lines folder, the format given: DialogueDataset.JsonLines(format))");

    /// <summary>The limit of a corpus's options.</summary>
    public static RowLimit For(DialogueCorpusOptions options) =>
        new(options.MaxRowBytes, "Raise DialogueCorpusOptions.MaxRowBytes if rows this large are meant");

    /// <summary>The error for a row over the limit.</summary>
    /// <param name="where">The row.</param>
    /// <param name="bytes">Its size, or, when <paramref name="complete"/> is false, the bytes read of it before the reader stopped.</param>
    /// <param name="complete">Whether <paramref name="bytes"/> is the whole row.</param>
    public InvalidDataException TooLarge(string where, long bytes, bool complete) => new(string.Create(
        CultureInfo.InvariantCulture,
        $"{where}: the row is {(complete ? $"{bytes} bytes" : $"longer than {MaxBytes} bytes (the reader stopped at {bytes})")}, over the limit of {MaxBytes} bytes a row may have "
        + $"(DialogueCorpusOptions.MaxRowBytes). {Remedy}; otherwise the file is damaged or not what it should be (JSON Lines holds one row per line)."));

    /// <summary>Counts the bytes of one row's strings against the limit, before each is decoded.</summary>
    /// <param name="where">The row, for the error.</param>
    public Budget Start(string where) => new(this, where);

    /// <summary>The bytes one row has used so far.</summary>
    internal sealed class Budget(RowLimit limit, string where)
    {
        private long _used;

        /// <summary>Adds a string's bytes; throws <see cref="TooLarge"/> once the row is over the limit. Always <see langword="true"/> otherwise (for use in an expression).</summary>
        public bool Take(long bytes)
        {
            _used += bytes;
            return _used <= limit.MaxBytes ? true : throw limit.TooLarge(where, _used, complete: false);
        }
    }
}
