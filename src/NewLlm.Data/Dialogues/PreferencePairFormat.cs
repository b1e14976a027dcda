namespace NewLlm.Data;

/// <summary>
/// Rows with a preferred and a rejected dialogue, like HH-RLHF (<c>chosen</c>, <c>rejected</c>): the model trains on the
/// whitespace-normalised preferred dialogue, as the original does; both fields must be strings.
/// </summary>
public sealed class PreferencePairFormat : DialogueFormat
{
    /// <summary>Creates the format.</summary>
    /// <param name="chosenField">The field of the preferred dialogue.</param>
    /// <param name="rejectedField">The field of the rejected dialogue.</param>
    public PreferencePairFormat(string chosenField = "chosen", string rejectedField = "rejected")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(chosenField);
        ArgumentException.ThrowIfNullOrWhiteSpace(rejectedField);
        ChosenField = chosenField;
        RejectedField = rejectedField;
    }

    /// <summary>The field of the preferred dialogue.</summary>
    public string ChosenField { get; }

    /// <summary>The field of the rejected dialogue.</summary>
    public string RejectedField { get; }

    /// <inheritdoc />
    public override string Description => $"preference pairs ('{ChosenField}', '{RejectedField}'; trains on '{ChosenField}')";

    internal override IReadOnlyList<string> Fields => [ChosenField, RejectedField];

    internal override DialogueText? Read(SourceRow row)
    {
        string chosen = RowFields.RequiredString(row, ChosenField);
        RowFields.RequiredString(row, RejectedField);
        string text = PythonText.NormalizeWhitespace(chosen);
        return new DialogueText(text, text);
    }
}
