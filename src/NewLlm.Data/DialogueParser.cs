using System.Text.RegularExpressions;

namespace NewLlm.Data;

/// <summary>Splits an HH-RLHF transcript into turns at the <c>Human:</c> and <c>Assistant:</c> markers.</summary>
public static partial class DialogueParser
{
    /// <summary>
    /// Parses a transcript. A turn starts at <c>Human:</c> or <c>Assistant:</c> at the start of the text or after a
    /// line break; its text runs to the next marker and is trimmed. Text before the first marker is ignored.
    /// </summary>
    /// <param name="transcript">The raw transcript.</param>
    /// <returns>The turns, in order; empty when the text has no marker.</returns>
    public static IReadOnlyList<DialogueTurn> Parse(string transcript)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        var matches = MarkerRegex().Matches(transcript);
        var turns = new List<DialogueTurn>(matches.Count);
        for (int i = 0; i < matches.Count; i++)
        {
            var match = matches[i];
            int start = match.Index + match.Length;
            int end = i + 1 < matches.Count ? matches[i + 1].Index : transcript.Length;
            var speaker = match.Groups[1].ValueSpan[0] == 'H' ? DialogueSpeaker.Human : DialogueSpeaker.Assistant;
            turns.Add(new DialogueTurn(speaker, transcript[start..end].Trim()));
        }

        return turns;
    }

    [GeneratedRegex(@"(?:^|(?<=\n))[ \t]*(Human|Assistant):", RegexOptions.CultureInvariant)]
    private static partial Regex MarkerRegex();
}
