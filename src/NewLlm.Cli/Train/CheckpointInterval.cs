using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace NewLlm.Cli;

/// <summary>
/// <c>--checkpoint-every</c>: <c>N</c> or <c>Nepochs</c> for a checkpoint every N epochs, <c>Nsteps</c> for one every N
/// optimizer steps (mid-epoch, only the newest kept), <c>0</c> for none besides best and final.
/// </summary>
internal readonly partial record struct CheckpointInterval(int Epochs, long Steps)
{
    public override string ToString() => Steps > 0 ? $"{Steps.ToString(CultureInfo.InvariantCulture)}steps" : Epochs.ToString(CultureInfo.InvariantCulture);

    public static CheckpointInterval Parse(ArgumentResult result)
    {
        string text = result.Tokens.Count == 1 ? result.Tokens[0].Value.Trim() : string.Empty;
        Match match = Pattern().Match(text);
        if (match.Success && long.TryParse(match.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long value) && value <= int.MaxValue)
        {
            return match.Groups["unit"].Value.StartsWith("step", StringComparison.OrdinalIgnoreCase) ? new CheckpointInterval(0, value) : new CheckpointInterval((int)value, 0);
        }

        result.AddError($"--checkpoint-every takes N (epochs), Nepochs or Nsteps, for example 2 or 500steps, not '{text}'.");
        return default;
    }

    [GeneratedRegex(@"^(?<n>[0-9]+) ?(?<unit>epochs?|steps?)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
