namespace NewLlm.Data;

/// <summary>
/// One HH-RLHF comparison: the <c>chosen</c> and <c>rejected</c> transcripts as stored, their whitespace-normalised
/// forms (what the original pipeline trained on) and their parsed turns.
/// </summary>
/// <param name="chosen">The preferred transcript, <c>"\n\nHuman: ...\n\nAssistant: ..."</c>.</param>
/// <param name="rejected">The other transcript.</param>
public sealed class HhRlhfRow(string chosen, string rejected)
{
    /// <summary>The preferred transcript exactly as stored.</summary>
    public string Chosen { get; } = chosen ?? throw new ArgumentNullException(nameof(chosen));

    /// <summary>The rejected transcript exactly as stored.</summary>
    public string Rejected { get; } = rejected ?? throw new ArgumentNullException(nameof(rejected));

    /// <summary><see cref="Chosen"/> with runs of whitespace collapsed to one space and the ends trimmed (Python's <c>" ".join(text.split())</c>).</summary>
    public string NormalizedChosen => field ??= PythonText.NormalizeWhitespace(Chosen);

    /// <summary><see cref="Rejected"/> normalised like <see cref="NormalizedChosen"/>.</summary>
    public string NormalizedRejected => field ??= PythonText.NormalizeWhitespace(Rejected);

    /// <summary>The turns of <see cref="Chosen"/> (parsed on first use).</summary>
    public IReadOnlyList<DialogueTurn> ChosenTurns => field ??= DialogueParser.Parse(Chosen);

    /// <summary>The turns of <see cref="Rejected"/> (parsed on first use).</summary>
    public IReadOnlyList<DialogueTurn> RejectedTurns => field ??= DialogueParser.Parse(Rejected);
}
