using Microsoft.Extensions.Logging.Abstractions;

namespace NewLlm.Training;

/// <summary>
/// Runs a curriculum: the levels of a <see cref="CurriculumRecipe"/> in order, each a normal <see cref="Trainer"/> run in
/// its own folder (<c>{output}/01-dolly</c>, …) whose checkpoints <c>newllm evaluate</c>, <c>chat</c> and
/// <c>train --resume</c> read like any other. Level 1 starts from a new model; each next level from the previous level's
/// best checkpoint, made deeper (<see cref="NewLlmModel.AddLayers"/>: new layers start as identity maps) and wider
/// (<see cref="NewLlmModel.ExpandContext"/>) where its recipe grows them, with a fresh optimizer.
/// <para>
/// The vocabulary across levels (<see cref="CurriculumOptions.Vocabulary"/>): with <see cref="VocabularyPolicy.Keep"/>
/// the first level's word-level vocabulary encodes every later set, so every id keeps its meaning and the embedding and
/// output layer carry over; the share of each set's words it leaves unknown is reported
/// (<see cref="CurriculumLevelResult.UnknownWordRate"/>). With <see cref="VocabularyPolicy.Rebuild"/> each level builds
/// its own, as the original does: the ids mean other words, so the embedding and output layer are re-initialised. GPT-2
/// (<c>gpt2</c>) has the same ids at every level.
/// </para>
/// <para>
/// After every level, <c>{output}/curriculum.json</c> is written (atomically): the recipe and options and the finished
/// levels' rows. A run into a folder that holds the same curriculum resumes it: finished levels are skipped and an
/// interrupted level goes on from its latest checkpoint exactly as <see cref="Trainer.LoadCheckpoint"/> resumes; another
/// curriculum there is refused, naming what differs, unless <see cref="CurriculumOptions.Overwrite"/> is set.
/// </para>
/// </summary>
public sealed partial class CurriculumRunner
{
    private readonly CurriculumRecipe _recipe;
    private readonly CurriculumOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;

    /// <summary>Creates a runner.</summary>
    /// <param name="recipe">The levels.</param>
    /// <param name="options">How to run them; validated.</param>
    /// <param name="loggerFactory">Loggers for the runner, the data and the trainers; none when null.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range.</exception>
    public CurriculumRunner(CurriculumRecipe recipe, CurriculumOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        ArgumentNullException.ThrowIfNull(options);
        _recipe = recipe;
        _options = options.Validate();
        _loggers = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger<CurriculumRunner>();
    }

    /// <summary>The callbacks of a level's trainer (a console reporter, a plotter, …), besides the built-in ones; called once per level trained.</summary>
    public Func<CurriculumLevel, IEnumerable<ITrainerCallback>>? Callbacks { get; init; }

    /// <summary>Receives what the run does, a sentence at a time.</summary>
    public IProgress<CurriculumProgress>? Progress { get; init; }

    /// <summary>Receives the progress of downloads from the Hub.</summary>
    public IProgress<DownloadProgress>? DownloadProgress { get; init; }

    /// <summary>Receives the progress of preparing each level's corpus.</summary>
    public IProgress<CorpusProgress>? CorpusProgress { get; init; }

    /// <summary>The state file of a curriculum in <paramref name="outputDirectory"/>: <c>curriculum.json</c>.</summary>
    /// <param name="outputDirectory">The curriculum's folder.</param>
    public static string StatePath(string outputDirectory) => Path.GetFullPath(Path.Combine(outputDirectory, CurriculumState.FileName));

    /// <summary>
    /// Runs (or resumes) the curriculum. Returns when every level is trained, after a level that is not cleared when
    /// <see cref="CurriculumOptions.NotClearedAction"/> is <see cref="NotClearedAction.Stop"/>, or when
    /// <paramref name="cancellationToken"/> fires (then the level's trainer has written its interrupt checkpoint, and a
    /// second call with the same recipe and options resumes there).
    /// </summary>
    /// <param name="cancellationToken">Stops the run cleanly.</param>
    /// <returns>The summary.</returns>
    /// <exception cref="InvalidOperationException">The folder holds another curriculum (the message names what differs).</exception>
    /// <exception cref="ArgumentException">A level's name is not a data set's, or its context cannot be widened as asked.</exception>
    /// <exception cref="InvalidDataException">A level's data or a checkpoint is bad (the message names the file).</exception>
    public async Task<CurriculumResult> RunAsync(CancellationToken cancellationToken = default)
    {
        CheckLevels();
        string statePath = StatePath(_options.OutputDirectory);
        JsonObject settings = CurriculumState.SettingsOf(_recipe, _options);
        CurriculumState? saved = _options.Overwrite ? null : CurriculumState.Read(statePath);

        // Where the data are is not what a run computes: a moved or corrected folder is fine (each level's checkpoints
        // record the data's SHA-256, and an interrupted level resumes only on the same data).
        List<string> differences = saved is null ? [] : [.. CurriculumState.Differences(saved.Settings, settings).Where(d => !d.StartsWith("options.data_dirs", StringComparison.Ordinal))];
        if (differences.Count > 0)
        {
            throw new InvalidOperationException(
                $"'{_options.OutputDirectory}' holds another curriculum ({statePath}), which differs in {string.Join("; ", differences)}. "
                + "Run it with the same levels and options to resume it, choose another output folder, or overwrite it (--overwrite).");
        }

        await CheckDataFoldersAsync(saved?.Levels.Count ?? 0, cancellationToken).ConfigureAwait(false);

        // Written before the first level, so that a run killed in it is resumed (its folder known to be this curriculum's).
        var state = new CurriculumState { Settings = settings, Levels = saved?.Levels ?? [] };
        state.Write(statePath);
        int skipped = Math.Min(state.Levels.Count, _recipe.Levels.Count);
        string? previousBest = null;
        for (int i = 0; i < _recipe.Levels.Count; i++)
        {
            CurriculumLevel level = _recipe.Levels[i];
            CurriculumLevelResult row;
            if (i < state.Levels.Count)
            {
                row = state.Levels[i];
                Report(i, string.Create(CultureInfo.InvariantCulture, $"finished earlier (validation PPL {row.ValidationPerplexity:F2}, {(row.Cleared ? "cleared" : "not cleared")}); skipped."));
            }
            else
            {
                CurriculumLevelResult? trained = await RunLevelAsync(i, previousBest, resumable: saved is not null, cancellationToken).ConfigureAwait(false);
                if (trained is null)
                {
                    return Finish(state, CurriculumOutcome.Cancelled, skipped, statePath);
                }

                row = trained;
                state.Levels.Add(row);
                state.Write(statePath);
            }

            previousBest = row.BestCheckpoint;
            if (!row.Cleared)
            {
                string missed = string.Create(CultureInfo.InvariantCulture, $"Level {i + 1} ({level.Name}) is not cleared: its best validation PPL {row.ValidationPerplexity:F2} is not below {row.ClearedPerplexity:G4}.");
                if (_options.NotClearedAction == NotClearedAction.Stop || previousBest is null || i + 1 == _recipe.Levels.Count)
                {
                    Report(i, missed + (i + 1 < _recipe.Levels.Count ? " The curriculum stops here (train it further, or run with the not-cleared action Warn to go on)." : string.Empty));
                    return Finish(state, i + 1 < _recipe.Levels.Count ? CurriculumOutcome.NotCleared : CurriculumOutcome.Completed, skipped, statePath);
                }

                if (i >= skipped)
                {
                    _logger.LogWarning(TrainingLogEvents.CurriculumLevelNotCleared, "{Message} Going on to the next level.", missed);
                }
            }
        }

        return Finish(state, CurriculumOutcome.Completed, skipped, statePath);
    }

    private CurriculumResult Finish(CurriculumState state, CurriculumOutcome outcome, int skipped, string statePath)
    {
        state.Outcome = outcome;
        state.Write(statePath);
        return new CurriculumResult(outcome, [.. state.Levels], _recipe.Levels.Count, skipped, statePath);
    }

    // Every level names a known set, and every growth of the context is possible with the chosen method: checked before anything is trained.
    private void CheckLevels()
    {
        for (int i = 0; i < _recipe.Levels.Count; i++)
        {
            try
            {
                _ = _recipe.Levels[i].Dataset();
            }
            catch (FormatException ex)
            {
                throw new ArgumentException($"Level {i + 1} ({_recipe.Levels[i].Name}): {ex.Message}", ex);
            }
        }

        for (int i = 1; i < _recipe.Levels.Count; i++)
        {
            (int from, int to) = (_recipe.Levels[i - 1].ContextSize, _recipe.Levels[i].ContextSize);
            if (to > from && _options.Expansion == ContextExpansion.Replicate && to % from != 0)
            {
                throw new ArgumentException($"Level {i + 1} ({_recipe.Levels[i].Name}) widens the context from {from} to {to}, which Replicate expansion cannot do (the new size must be a multiple of the old). Choose a multiple, or Original expansion.");
            }
        }
    }

    // Every level still to train reads its local folder once before the first is trained: a wrong folder for level 3 is
    // found before levels 1 and 2 have taken hours.
    private async Task CheckDataFoldersAsync(int finished, CancellationToken cancellationToken)
    {
        for (int i = finished; i < _recipe.Levels.Count; i++)
        {
            if (_options.DataDirectories.TryGetValue(_recipe.Levels[i].Name, out string? directory))
            {
                DialogueDataset set = ResolveDataset(i, _recipe.Levels[i], directory, say: false);
                try
                {
                    _ = await DialogueSource.FromDirectoryAsync(set, directory, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
                {
                    throw new InvalidDataException($"Level {i + 1} ({_recipe.Levels[i].Name}): {ex.Message}", ex);
                }
            }
        }
    }

    private void Report(int index, string message) => Progress?.Report(new CurriculumProgress(index + 1, _recipe.Levels.Count, _recipe.Levels[index].Name, message));
}
