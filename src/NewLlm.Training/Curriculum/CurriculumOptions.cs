using Microsoft.Extensions.Options;

namespace NewLlm.Training;

/// <summary>
/// How a <see cref="CurriculumRunner"/> runs a recipe: where it writes, the tokenizer and what its vocabulary does across
/// levels, how the context is widened, what a level that misses its cleared perplexity does, the training settings every
/// level shares and overrides of the recipe's epochs and samples. Validated by <see cref="CurriculumOptionsValidator"/>.
/// </summary>
public sealed class CurriculumOptions
{
    /// <summary>The curriculum's folder: <c>curriculum.json</c>, a subfolder per level (<c>01-dolly</c>, …) and the data cache (default "curriculum").</summary>
    public string OutputDirectory { get; set; } = "curriculum";

    /// <summary><c>word</c> (the original's 1000-word vocabulary, default) or <c>gpt2</c> (the same ids at every level; the better choice for code).</summary>
    public string Tokenizer { get; set; } = "word";

    /// <summary>What a word-level vocabulary does at each new level (default <see cref="VocabularyPolicy.Keep"/>); GPT-2's never changes.</summary>
    public VocabularyPolicy Vocabulary { get; set; } = VocabularyPolicy.Keep;

    /// <summary>How a level that asks for a larger context widens the previous level's model (default <see cref="ContextExpansion.Replicate"/>, which keeps its function).</summary>
    public ContextExpansion Expansion { get; set; } = ContextExpansion.Replicate;

    /// <summary>
    /// What a level that misses its cleared perplexity does. Null (the default): <see cref="NotClearedAction.Stop"/> for the
    /// recipe as written, <see cref="NotClearedAction.Warn"/> when <see cref="Epochs"/> or <see cref="MaxSamples"/> shorten
    /// it (a trial run, whose levels cannot be expected to clear).
    /// </summary>
    public NotClearedAction? OnNotCleared { get; set; }

    /// <summary>Sequences per batch at every level (default 2048, <see cref="TrainerOptions.BatchSize"/>'s).</summary>
    public int BatchSize { get; set; } = 2048;

    /// <summary>Learning rate of every level (default 0.0008).</summary>
    public double LearningRate { get; set; } = 0.0008;

    /// <summary>Seed of the first model, of every level's batch order and dropout, and of re-initialised layers (default 42).</summary>
    public int Seed { get; set; } = 42;

    /// <summary>The training arithmetic (default <see cref="TrainingPrecision.Float32"/>).</summary>
    public TrainingPrecision Precision { get; set; } = TrainingPrecision.Float32;

    /// <summary>Epochs of every level instead of the recipe's, or null.</summary>
    public int? Epochs { get; set; }

    /// <summary>Training dialogues of every level instead of the recipe's (the first N, and N/10 test ones), or null.</summary>
    public int? MaxSamples { get; set; }

    /// <summary>A local folder (or file) per level name; a level without one downloads its set from the Hugging Face Hub.</summary>
    public IDictionary<string, string> DataDirectories { get; } = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Start afresh where the folder holds another (or the same) curriculum, instead of refusing or resuming (default false).</summary>
    public bool Overwrite { get; set; }

    /// <summary>The action taken after a level that is not cleared (<see cref="OnNotCleared"/>, or its default).</summary>
    public NotClearedAction NotClearedAction => OnNotCleared ?? (Epochs is null && MaxSamples is null ? NotClearedAction.Stop : NotClearedAction.Warn);

    /// <summary>Throws an <see cref="OptionsValidationException"/> naming every bad option; returns this instance otherwise.</summary>
    public CurriculumOptions Validate() => OptionsFailures.ThrowIfInvalid(this, new CurriculumOptionsValidator());

    /// <summary>What makes two runs the same curriculum (everything but <see cref="Overwrite"/> and <see cref="OnNotCleared"/>), as JSON.</summary>
    internal JsonObject Describe() => new()
    {
        ["tokenizer"] = Tokenizer,
        ["vocabulary"] = Vocabulary.ToString(),
        ["expansion"] = Expansion.ToString(),
        ["batch_size"] = BatchSize,
        ["learning_rate"] = LearningRate,
        ["seed"] = Seed,
        ["precision"] = Precision.ToString(),
        ["epochs"] = Epochs,
        ["max_samples"] = MaxSamples,
        ["data_dirs"] = new JsonObject([.. DataDirectories.Select(p => KeyValuePair.Create(p.Key.ToLowerInvariant(), (JsonNode?)Path.GetFullPath(p.Value)))]),
    };
}
