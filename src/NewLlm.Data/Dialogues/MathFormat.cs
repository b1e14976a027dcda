namespace NewLlm.Data;

/// <summary>
/// MATH rows (<c>problem</c>, <c>level</c>, <c>type</c>, <c>solution</c>; Hendrycks et al.'s competition mathematics) as
/// <c>Problem: {problem} Solution: {solution}</c>, not whitespace-normalised (the solutions' LaTeX keeps its newlines; the
/// word-level tokenizer drops them, GPT-2 keeps them). Optionally only some levels (<c>Level 1</c> … <c>Level 5</c>; a
/// row with another level, as <c>Level ?</c>, is then left out) and some types: rows left out are not in the set at all
/// (not counted, split or encoded), and the filter is part of <see cref="Description"/>, so of the cache key and the
/// data's fingerprint. Every row needs its <c>level</c> and <c>type</c> strings, with a filter or without.
/// </summary>
public sealed class MathFormat : DialogueFormat
{
    /// <summary>Every row.</summary>
    public static MathFormat All { get; } = new();

    /// <summary>
    /// Creates the format with a filter.
    /// </summary>
    /// <param name="levels">The levels to keep (1 to 5), or <see langword="null"/> or none for all.</param>
    /// <param name="types">The types to keep, by a name of <see cref="TypeNames"/> or the <c>type</c> field's text (any case, <c>&amp;</c> or <c>and</c>, spaces or <c>_</c>), or <see langword="null"/> or none for all.</param>
    /// <exception cref="ArgumentException">A level is not 1 to 5, or a type is not a MATH type (the message lists them).</exception>
    public MathFormat(IEnumerable<int>? levels = null, IEnumerable<string>? types = null)
    {
        Levels = [.. (levels ?? []).Distinct().Order()];
        foreach (int level in Levels.Where(l => l is < 1 or > 5))
        {
            throw new ArgumentException($"{level} is not a MATH level; the levels are 1 to 5.", nameof(levels));
        }

        Types = [.. (types ?? []).Select(t => TypeKey(t) is var key && TypeNames.Contains(key)
            ? key
            : throw new ArgumentException($"'{t}' is not a MATH type; the types are {string.Join(", ", TypeNames)}.", nameof(types))).Distinct().Order(StringComparer.Ordinal)];
    }

    /// <summary>The seven types, as the original release names their folders: <c>algebra</c>, <c>counting_and_probability</c>, ….</summary>
    public static IReadOnlyList<string> TypeNames { get; } =
        ["algebra", "counting_and_probability", "geometry", "intermediate_algebra", "number_theory", "prealgebra", "precalculus"];

    /// <summary>The levels kept, ascending; empty for all.</summary>
    public IReadOnlyList<int> Levels { get; }

    /// <summary>The types kept (names of <see cref="TypeNames"/>), ordinal; empty for all.</summary>
    public IReadOnlyList<string> Types { get; }

    /// <summary>The filter in words: <c>levels 1,2; types algebra</c>, or empty for all rows.</summary>
    public string Filter => string.Join("; ", new[]
    {
        Levels.Count > 0 ? "levels " + string.Join(',', Levels) : null,
        Types.Count > 0 ? "types " + string.Join(',', Types) : null,
    }.OfType<string>());

    /// <inheritdoc />
    public override string Description => $"MATH (problem, solution; whitespace kept{(Filter.Length > 0 ? "; " + Filter : string.Empty)})";

    internal override IReadOnlyList<string> Fields => ["problem", "level", "type", "solution"];

    internal override bool FiltersRows => Levels.Count > 0 || Types.Count > 0;

    /// <summary>The filter of two comma-separated lists, as the command line gives them (<c>1,2</c> and <c>algebra,prealgebra</c>).</summary>
    /// <param name="levels">The levels, or <see langword="null"/> or blank for all.</param>
    /// <param name="types">The types, or <see langword="null"/> or blank for all.</param>
    /// <returns>The format.</returns>
    /// <exception cref="FormatException">A level or type is not one of MATH's; the message lists them.</exception>
    public static MathFormat Parse(string? levels, string? types)
    {
        static string[] Items(string? list) => list?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];
        int[] levelNumbers = [.. Items(levels).Select(l => int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= 5
            ? n
            : throw new FormatException($"'{l}' is not a MATH level; the levels are 1 to 5 (for example 1,2)."))];
        try
        {
            return new MathFormat(levelNumbers, Items(types));
        }
        catch (ArgumentException e)
        {
            throw new FormatException(e.Message.Split(" (Parameter", 2)[0], e);
        }
    }

    /// <summary>
    /// Writes the filter into a run's configuration as <c>math_levels</c> and <c>math_types</c> (comma-separated, as
    /// <see cref="Parse"/> reads them; nothing for all), so that a resumed or continued run keeps it.
    /// </summary>
    /// <param name="configuration">The run's configuration (<c>TrainerOptions.RunConfiguration</c>).</param>
    public void WriteTo(IDictionary<string, JsonNode?> configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (Levels.Count > 0)
        {
            configuration["math_levels"] = string.Join(',', Levels);
        }

        if (Types.Count > 0)
        {
            configuration["math_types"] = string.Join(',', Types);
        }
    }

    internal override bool Keeps(SourceRow row)
    {
        if (Levels.Count > 0)
        {
            string level = RowFields.RequiredString(row, "level");
            if (!(level.StartsWith("Level ", StringComparison.OrdinalIgnoreCase)
                && int.TryParse(level.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && Levels.Contains(n)))
            {
                return false;
            }
        }

        return Types.Count == 0 || Types.Contains(TypeKey(RowFields.RequiredString(row, "type")));
    }

    internal override DialogueText? Read(SourceRow row)
    {
        // The level and type are strings in every release ("Level 3", "Level ?"); a row without them, or with a number, is
        // refused here as the filter refuses it, so that a file is read alike with and without a filter.
        RowFields.RequiredString(row, "level");
        RowFields.RequiredString(row, "type");
        string text = $"Problem: {RowFields.RequiredString(row, "problem")} Solution: {RowFields.RequiredString(row, "solution")}";
        return new DialogueText(text, text);
    }

    /// <summary><c>Counting &amp; Probability</c> → <c>counting_and_probability</c>.</summary>
    private static string TypeKey(string type)
    {
        var key = new StringBuilder();
        foreach (string word in type.Replace("&", " and ", StringComparison.Ordinal).Split([' ', '_', '-'], StringSplitOptions.RemoveEmptyEntries))
        {
            key.Append(key.Length > 0 ? "_" : string.Empty).Append(word.ToLowerInvariant());
        }

        return key.ToString();
    }
}
