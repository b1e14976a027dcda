namespace NewLlm.Training;

/// <summary>
/// The ordered levels of a curriculum. <see cref="Original"/> is the original New-LLM's plan (TRAINING_PROGRESSION.md);
/// <see cref="Select"/> picks levels of a recipe by name; <see cref="Load"/> reads a recipe file.
/// </summary>
/// <remarks>
/// A recipe file is JSON, at most 1 MiB: <c>{"levels": [{"name": "dolly", "layers": 1, "context_size": 256,
/// "max_seq_length": 128, "epochs": 100, "patience": 20, "cleared_ppl": 17}, …]}</c>. Each level needs <c>name</c> and
/// <c>cleared_ppl</c>; <c>subset</c> (HH-RLHF), <c>layers</c> (1), <c>context_size</c> (256), <c>max_seq_length</c> (128),
/// <c>epochs</c> (100), <c>patience</c> (20; 0 turns early stopping off) and <c>max_samples</c> (all) are optional. The
/// levels' names are distinct, and the layers and context size never shrink from one level to the next.
/// </remarks>
public sealed class CurriculumRecipe
{
    /// <summary>Creates a recipe, checking its levels.</summary>
    /// <param name="levels">The levels, in order.</param>
    /// <exception cref="ArgumentException">No levels, a level out of range (the message names its index and field), two levels of one name, or a model that shrinks from one level to the next.</exception>
    public CurriculumRecipe(IEnumerable<CurriculumLevel> levels)
    {
        ArgumentNullException.ThrowIfNull(levels);
        Levels = [.. levels];
        if (Levels.Count == 0)
        {
            throw new ArgumentException("A curriculum needs at least one level.");
        }

        for (int i = 0; i < Levels.Count; i++)
        {
            CurriculumLevel level = Levels[i] ?? throw new ArgumentException($"Level {i + 1} is null.");
            string? problem = string.IsNullOrWhiteSpace(level.Name) ? "name must be a data set's name"
                : Levels.Take(i).Any(l => string.Equals(l.Name, level.Name, StringComparison.OrdinalIgnoreCase)) ? $"name '{level.Name}' is already an earlier level's (each level's folder is named after it)"
                : level.Layers < 1 ? $"layers must be at least 1, not {level.Layers}"
                : level.ContextSize < 1 ? $"context_size must be at least 1, not {level.ContextSize}"
                : level.MaxSequenceLength < 2 ? $"max_seq_length must be at least 2, not {level.MaxSequenceLength}"
                : level.Epochs < 1 ? $"epochs must be at least 1, not {level.Epochs}"
                : level.EarlyStoppingPatience < 0 ? $"patience must be 0 (off) or more, not {level.EarlyStoppingPatience}"
                : !(level.ClearedPerplexity > 1 && double.IsFinite(level.ClearedPerplexity)) ? string.Create(CultureInfo.InvariantCulture, $"cleared_ppl must be a perplexity above 1, not {level.ClearedPerplexity}")
                : level.MaxSamples < 1 ? $"max_samples must be at least 1, not {level.MaxSamples}"
                : i > 0 && level.Layers < Levels[i - 1].Layers ? $"layers {level.Layers} is fewer than level {i}'s {Levels[i - 1].Layers}: a level continues the previous level's model, which can grow but not shrink"
                : i > 0 && level.ContextSize < Levels[i - 1].ContextSize ? $"context_size {level.ContextSize} is smaller than level {i}'s {Levels[i - 1].ContextSize}: a level continues the previous level's model, which can grow but not shrink"
                : null;
            if (problem is not null)
            {
                throw new ArgumentException($"Level {i + 1} ({level.Name}): {problem}.");
            }
        }
    }

    /// <summary>
    /// The original's plan: L1 dolly (1 layer, context 256, sequences of 128, 100 epochs, cleared below PPL 17), L2 hh-rlhf
    /// (1, 256, 128, 100, &lt; 21), L3 ultrachat (4, 256, 128, 150, &lt; 26), L4 codealpaca (8, 512, 256, 200, &lt; 32),
    /// L5 math (12, 1024, 256, 200, &lt; 42); early stopping after 20 epochs without improvement.
    /// </summary>
    public static CurriculumRecipe Original { get; } = new(
    [
        new CurriculumLevel { Name = "dolly", Layers = 1, ContextSize = 256, MaxSequenceLength = 128, Epochs = 100, ClearedPerplexity = 17 },
        new CurriculumLevel { Name = "hh-rlhf", Layers = 1, ContextSize = 256, MaxSequenceLength = 128, Epochs = 100, ClearedPerplexity = 21 },
        new CurriculumLevel { Name = "ultrachat", Layers = 4, ContextSize = 256, MaxSequenceLength = 128, Epochs = 150, ClearedPerplexity = 26 },
        new CurriculumLevel { Name = "codealpaca", Layers = 8, ContextSize = 512, MaxSequenceLength = 256, Epochs = 200, ClearedPerplexity = 32 },
        new CurriculumLevel { Name = "math", Layers = 12, ContextSize = 1024, MaxSequenceLength = 256, Epochs = 200, ClearedPerplexity = 42 },
    ]);

    /// <summary>The levels, in order.</summary>
    public IReadOnlyList<CurriculumLevel> Levels { get; }

    /// <summary>Reads a recipe file (see the remarks for its schema).</summary>
    /// <param name="path">The JSON file.</param>
    /// <returns>The recipe.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is too large, not JSON, or a level is bad: the message names the file, the level and the field.</exception>
    public static CurriculumRecipe Load(string path) => CurriculumRecipeFile.Read(path);

    /// <summary>The levels of the given names, in this recipe's order (so <c>Select("hh-rlhf", "dolly")</c> trains Dolly first).</summary>
    /// <param name="names">Level names (any case).</param>
    /// <returns>A recipe of those levels.</returns>
    /// <exception cref="ArgumentException">A name is not one of this recipe's levels (the message lists them), or none is given.</exception>
    public CurriculumRecipe Select(params IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var wanted = names.Select(n => n.Trim()).ToList();
        string? unknown = wanted.FirstOrDefault(n => !Levels.Any(l => string.Equals(l.Name, n, StringComparison.OrdinalIgnoreCase)));
        if (unknown is not null || wanted.Count == 0)
        {
            throw new ArgumentException($"{(unknown is null ? "No level was named" : $"'{unknown}' is not a level of the curriculum")}; its levels are {string.Join(", ", Levels.Select(l => l.Name))}.");
        }

        return new CurriculumRecipe(Levels.Where(l => wanted.Contains(l.Name, StringComparer.OrdinalIgnoreCase)));
    }

    /// <summary>The recipe in the recipe file's schema.</summary>
    public JsonObject ToJson() => CurriculumRecipeFile.ToJson(this);
}
