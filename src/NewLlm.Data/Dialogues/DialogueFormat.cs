using System.Runtime.CompilerServices;

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
    /// The text of a row, or <see langword="null"/> when the original skips the row (an UltraChat dialogue without turns);
    /// a missing or mistyped field is an <see cref="InvalidDataException"/> naming the row's file and line (or row).
    /// </summary>
    internal abstract DialogueText? Read(SourceRow row);

    /// <summary>Whether the format keeps only some rows (<see cref="Keeps"/>): then the rows it leaves out are not in the set at all.</summary>
    internal virtual bool FiltersRows => false;

    /// <summary>Whether a row is in the set (a filter's choice); rows left out are neither counted, split nor encoded.</summary>
    internal virtual bool Keeps(SourceRow row) => true;

    /// <summary>The top-level fields the format reads (the columns to read from a Parquet or Arrow file).</summary>
    internal abstract IReadOnlyList<string> Fields { get; }

    /// <summary>A field name given to a format's constructor: not blank.</summary>
    private protected static string NotBlank(string field, [CallerArgumentExpression(nameof(field))] string? name = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(field, name);
        return field;
    }

    /// <summary>A row's text, whitespace-normalised, as both the training and the vocabulary text.</summary>
    private protected static DialogueText Normalized(string text)
    {
        string normalized = PythonText.NormalizeWhitespace(text);
        return new DialogueText(normalized, normalized);
    }

    /// <summary>
    /// Turns joined with single spaces and whitespace-normalised, or <see langword="null"/> for a row without turns (the
    /// original skips it). Where a join adds a space that another join would not, normalising removes it again.
    /// </summary>
    private protected static DialogueText? JoinedTurns(IEnumerable<string> turns)
    {
        string[] parts = [.. turns];
        return parts.Length == 0 ? null : Normalized(string.Join(' ', parts));
    }
}
