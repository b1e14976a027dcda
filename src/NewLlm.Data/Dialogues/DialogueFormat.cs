namespace NewLlm.Data;

/// <summary>
/// How the rows of one data set become training text: which fields a row has and how the original joins them.
/// </summary>
public abstract class DialogueFormat
{
    private protected DialogueFormat()
    {
    }

    /// <summary>A short description for messages, for example <c>Dolly (instruction, context, response)</c>.</summary>
    public abstract string Description { get; }

    /// <summary>
    /// The text of a row, or <see langword="null"/> when the original skips the row (an UltraChat dialogue without turns).
    /// </summary>
    /// <param name="row">The row.</param>
    /// <returns>The text.</returns>
    /// <exception cref="InvalidDataException">A field is missing or of the wrong type; the message names the row's file and line (or row).</exception>
    internal abstract DialogueText? Read(SourceRow row);

    /// <summary>The top-level fields the format reads (the columns to read from a Parquet or Arrow file).</summary>
    internal abstract IReadOnlyList<string> Fields { get; }
}
