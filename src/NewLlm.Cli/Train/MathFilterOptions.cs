namespace NewLlm.Cli;

/// <summary>
/// <c>--math-levels</c> and <c>--math-types</c> of <c>newllm train</c>: MATH's level and type filter (refused with any
/// other set), read back from a run's configuration (<c>math_levels</c>, <c>math_types</c>, written by <see cref="MathFormat.WriteTo"/>), so that <c>--resume</c>
/// and <c>--from</c> on MATH keep it.
/// </summary>
internal static class MathFilterOptions
{
    /// <summary>The set with the filter applied: MATH with a <see cref="MathFormat"/>; any other set only without one.</summary>
    /// <param name="set">The set the command line names.</param>
    /// <param name="levels">The levels, as given (<c>1,2</c>), or <see langword="null"/>.</param>
    /// <param name="types">The types, as given (<c>algebra,prealgebra</c>), or <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">A filter for another set, or a level or type MATH does not have.</exception>
    public static DialogueDataset Apply(DialogueDataset set, string? levels, string? types)
    {
        if (levels is null && types is null)
        {
            return set;
        }

        if (set.Name != "math")
        {
            throw new ArgumentException($"--math-levels and --math-types filter --dataset math; {set.DisplayName} has no levels or types. Leave them out.");
        }

        try
        {
            return DialogueDataset.Math(MathFormat.Parse(levels, types));
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"{(e.Message.Contains("level", StringComparison.Ordinal) ? "--math-levels" : "--math-types")}: {e.Message}", e);
        }
    }

    /// <summary>The checkpoint's filter (<paramref name="key"/>) when it goes on with MATH, else <see langword="null"/>.</summary>
    public static string? Saved(ResumePoint? point, string? savedDatasetName, DialogueDataset set, string key) =>
        point is not null && savedDatasetName == "math" && set.Name == "math" ? point.GetString(key) : null;
}
