
namespace NewLlm.Data;

/// <summary>
/// One HH-RLHF comparison: the <c>chosen</c> and <c>rejected</c> transcripts as stored, their whitespace-normalised
/// forms (what the original pipeline trained on) and their parsed turns.
/// </summary>
public sealed class HhRlhfRow
{
    private IReadOnlyList<DialogueTurn>? _chosenTurns;
    private IReadOnlyList<DialogueTurn>? _rejectedTurns;
    private string? _normalizedChosen;
    private string? _normalizedRejected;

    /// <summary>Creates a row from the two raw transcripts.</summary>
    /// <param name="chosen">The preferred transcript, <c>"\n\nHuman: ...\n\nAssistant: ..."</c>.</param>
    /// <param name="rejected">The other transcript.</param>
    public HhRlhfRow(string chosen, string rejected)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        Chosen = chosen;
        Rejected = rejected;
    }

    /// <summary>The preferred transcript exactly as stored.</summary>
    public string Chosen { get; }

    /// <summary>The rejected transcript exactly as stored.</summary>
    public string Rejected { get; }

    /// <summary><see cref="Chosen"/> with runs of whitespace collapsed to one space and the ends trimmed (Python's <c>" ".join(text.split())</c>).</summary>
    public string NormalizedChosen => _normalizedChosen ??= PythonText.NormalizeWhitespace(Chosen);

    /// <summary><see cref="Rejected"/> normalised like <see cref="NormalizedChosen"/>.</summary>
    public string NormalizedRejected => _normalizedRejected ??= PythonText.NormalizeWhitespace(Rejected);

    /// <summary>The turns of <see cref="Chosen"/> (parsed on first use).</summary>
    public IReadOnlyList<DialogueTurn> ChosenTurns => _chosenTurns ??= DialogueParser.Parse(Chosen);

    /// <summary>The turns of <see cref="Rejected"/> (parsed on first use).</summary>
    public IReadOnlyList<DialogueTurn> RejectedTurns => _rejectedTurns ??= DialogueParser.Parse(Rejected);
}
