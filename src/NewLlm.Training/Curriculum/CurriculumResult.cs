using System.Text;

namespace NewLlm.Training;

/// <summary>The result of <see cref="CurriculumRunner.RunAsync"/>: a row per trained level, and how the run ended.</summary>
/// <param name="Outcome">How the run ended.</param>
/// <param name="Levels">The trained levels, in order (those of earlier runs of the same curriculum included).</param>
/// <param name="LevelCount">How many levels the curriculum has.</param>
/// <param name="LevelsSkipped">Levels an earlier run had finished, skipped by this one (all of them: the curriculum was finished already).</param>
/// <param name="StatePath">The curriculum's state file, <c>curriculum.json</c>.</param>
public sealed record CurriculumResult(CurriculumOutcome Outcome, IReadOnlyList<CurriculumLevelResult> Levels, int LevelCount, int LevelsSkipped, string StatePath)
{
    /// <summary>
    /// The summary as a text table: level, data set (with the share of its words a word-level vocabulary leaves unknown:
    /// a kept vocabulary that leaves most of a set <c>&lt;unk&gt;</c> makes its PPL low and meaningless), PPL, Acc,
    /// cleared?, time, checkpoint.
    /// </summary>
    public string FormatTable()
    {
        string[] header = ["level", "data set", "PPL", "Acc", "cleared?", "time", "checkpoint"];
        var rows = Levels.Select(r => new[]
        {
            $"{r.Level} {r.Name}",
            r.Dataset + (r.UnknownWordRate is double unknown ? string.Create(CultureInfo.InvariantCulture, $" ({unknown * 100:F1}% unk)") : string.Empty),
            r.ValidationPerplexity is double ppl ? ppl.ToString("F2", CultureInfo.InvariantCulture) : "-",
            r.Accuracy is double accuracy ? (accuracy * 100).ToString("F1", CultureInfo.InvariantCulture) + "%" : "-",
            (r.Cleared ? "yes" : "no") + string.Create(CultureInfo.InvariantCulture, $" (< {r.ClearedPerplexity:G4})"),
            TimeSpan.FromSeconds(Math.Round(r.Seconds)).ToString("c", CultureInfo.InvariantCulture),
            r.BestCheckpoint ?? "-",
        }).ToList();
        int[] widths = [.. header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max())];
        var text = new StringBuilder();
        foreach (string[] row in rows.Prepend(header))
        {
            text.AppendLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        }

        return text.ToString();
    }
}
