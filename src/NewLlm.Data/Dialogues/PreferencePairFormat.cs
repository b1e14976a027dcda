namespace NewLlm.Data;

/// <summary>
/// Rows with a preferred and a rejected dialogue, like HH-RLHF (<c>chosen</c>, <c>rejected</c>): the model trains on the
/// whitespace-normalised preferred dialogue, as the original does; both fields must be strings.
/// </summary>
/// <param name="chosenField">The field of the preferred dialogue.</param>
/// <param name="rejectedField">The field of the rejected dialogue.</param>
public sealed class PreferencePairFormat(string chosenField = "chosen", string rejectedField = "rejected") : DialogueFormat
{
    /// <summary>The field of the preferred dialogue.</summary>
    public string ChosenField { get; } = NotBlank(chosenField);

    /// <summary>The field of the rejected dialogue.</summary>
    public string RejectedField { get; } = NotBlank(rejectedField);

    /// <inheritdoc />
    public override string Description => $"preference pairs ('{ChosenField}', '{RejectedField}'; trains on '{ChosenField}')";

    internal override IReadOnlyList<string> Fields => [ChosenField, RejectedField];

    internal override DialogueText? Read(SourceRow row)
    {
        string chosen = RowFields.RequiredString(row, ChosenField);
        RowFields.RequiredString(row, RejectedField);
        return Normalized(chosen);
    }
}
