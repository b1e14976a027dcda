using Microsoft.Extensions.Logging.Abstractions;

namespace NewLlm.Data;

/// <summary>
/// The training and test corpora of one dialogue set or a weighted mixture of sets, prepared as the original prepares
/// them and in bounded memory whatever their size: the rows counted, split (the <c>datasets</c> library's
/// <c>train_test_split</c> reproduced exactly, see <see cref="DatasetSplit"/>) and cut to <c>MaxSamples</c>; the
/// word-level vocabulary built from the training rows the original builds it from (or a given tokenizer used, for
/// example a checkpoint's); every selected row encoded in one streaming pass into an Arrow cache, from which the corpora
/// are read memory-mapped. A second call with the same files and settings reads the caches.
/// </summary>
/// <remarks>
/// Rows keep their file order in the corpora (training shuffles them anyway); which rows are in which split, and the
/// vocabulary, are the original's. Dispose the corpus to release the mapped cache files.
/// </remarks>
public sealed class DialogueCorpus : IDisposable
{
    private const string FormatName = "newllm.dialogue-corpus/1";
    private const int ProgressEvery = 16_384;

    private DialogueCorpus(TokenizedCorpus train, TokenizedCorpus test, DialogueTokenizer tokenizer, VocabularyCoverage? coverage, string sourceChecksum, string description)
    {
        Train = train;
        Test = test;
        Tokenizer = tokenizer;
        Coverage = coverage;
        SourceChecksum = sourceChecksum;
        Description = description;
    }

    /// <summary>The training rows.</summary>
    public TokenizedCorpus Train { get; }

    /// <summary>The test (validation) rows.</summary>
    public TokenizedCorpus Test { get; }

    /// <summary>The tokenizer the rows were encoded with (built, or the one given).</summary>
    public DialogueTokenizer Tokenizer { get; }

    /// <summary>The share of unknown words under the word-level vocabulary used; <see langword="null"/> for other tokenizers, or when read from the cache.</summary>
    public VocabularyCoverage? Coverage { get; }

    /// <summary>
    /// A SHA-256 identifying the training rows (equal for equal data; recorded by runs as <c>data_sha256</c>): for one set's
    /// own training files taken whole, their fingerprint, the <see cref="HhRlhfDataset.SourceChecksum"/> of the same files;
    /// otherwise over the files, formats, weights and selection.
    /// </summary>
    public string SourceChecksum { get; }

    /// <summary>What the corpus is, for reports: <c>Dolly-15k from /data/dolly</c>, or the mixture's parts and weights.</summary>
    public string Description { get; }

    /// <summary>Prepares the corpora of one set.</summary>
    /// <param name="source">The set's files.</param>
    /// <param name="cacheDirectory">Where the vocabulary and token caches are kept (created when missing).</param>
    /// <param name="options">Selection and encoding; <see langword="null"/> for the original's defaults.</param>
    /// <param name="tokenizer">The tokenizer to encode with (a checkpoint's, or GPT-2's), or <see langword="null"/> to build the original's word-level vocabulary.</param>
    /// <param name="logger">Receives what is done, and a warning when a given vocabulary leaves much of the text unknown.</param>
    /// <param name="progress">Receives progress.</param>
    /// <param name="cancellationToken">Cancels the work; nothing half-written is left to be used.</param>
    /// <returns>The corpora.</returns>
    /// <exception cref="InvalidDataException">A row is bad; the message names the file and line (or row group and row).</exception>
    public static Task<DialogueCorpus> LoadAsync(
        DialogueSource source, string cacheDirectory, DialogueCorpusOptions? options = null, DialogueTokenizer? tokenizer = null,
        ILogger? logger = null, IProgress<CorpusProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return LoadMixtureAsync([new DialogueMixtureComponent(source, 1)], cacheDirectory, options, tokenizer, logger, progress, cancellationToken);
    }

    /// <summary>
    /// Prepares the corpora of a weighted mixture: each set gives its share of the rows, the largest mixture that keeps
    /// the shares without repeating a row (or <see cref="DialogueCorpusOptions.MaxSamples"/> rows in all), each set's rows
    /// taken from the front of its training order; the vocabulary is built from the mixed training rows.
    /// </summary>
    /// <param name="components">The sets and their weights.</param>
    /// <param name="cacheDirectory">Where the vocabulary and token caches are kept.</param>
    /// <param name="options">Selection and encoding.</param>
    /// <param name="tokenizer">The tokenizer, or <see langword="null"/> to build the word-level vocabulary.</param>
    /// <param name="logger">A logger.</param>
    /// <param name="progress">Receives progress.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The corpora.</returns>
    public static async Task<DialogueCorpus> LoadMixtureAsync(
        IReadOnlyList<DialogueMixtureComponent> components, string cacheDirectory, DialogueCorpusOptions? options = null,
        DialogueTokenizer? tokenizer = null, ILogger? logger = null, IProgress<CorpusProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(components);
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheDirectory);
        if (components.Count == 0)
        {
            throw new ArgumentException("A corpus needs at least one set.", nameof(components));
        }

        foreach (var component in components)
        {
            ArgumentNullException.ThrowIfNull(component, nameof(components));
            if (!(component.Weight > 0 && double.IsFinite(component.Weight)))
            {
                throw new ArgumentException($"The weight of {component.Source} must be a positive number, not {component.Weight}.", nameof(components));
            }
        }

        options ??= new DialogueCorpusOptions();
        OptionsFailures.ThrowIfInvalid(options, new DialogueCorpusOptionsValidator());
        logger ??= NullLogger.Instance;
        var plans = new List<DialogueCorpusPlan>();
        foreach (var component in components)
        {
            plans.Add(await DialogueCorpusPlan.CountAsync(component, RowLimit.For(options), progress, cancellationToken).ConfigureAwait(false));
        }

        Select(plans, options);
        string recipe = Checksum(plans, options);

        // One set's own train and test files taken whole are identified by their files alone, as HhRlhfDataset identifies
        // them; anything selected (a split, MaxSamples, a format's filter, a mixture) by the recipe of the selection.
        var whole = plans is [{ TestFileRows.Length: > 0 } single] && options.MaxSamples is null && !single.Source.Format.FiltersRows ? single : null;
        string checksum = whole is null ? recipe : SourceFiles.Fingerprint(whole.TrainSha256);
        string description = components.Count == 1
            ? components[0].Source.ToString()
            : string.Join(" + ", plans.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Weight:P0} {p.Source}")));
        foreach (var plan in plans)
        {
            logger.LogInformation(DataLogEvents.RowsSelected, "{Source}: {Train} training and {Test} test rows selected of {Rows}", plan.Source, plan.TrainTake, plan.TestTake, plan.TrainFileRows.Sum() + plan.TestFileRows.Sum());
        }

        // The vocabulary: given, cached, or counted from the training rows the original counts.
        VocabularyCoverage? coverage = null;
        if (tokenizer is null || tokenizer is WordLevelTokenizer)
        {
            string vocabularyPath = Path.Combine(cacheDirectory, $"vocabulary-{Hash($"{recipe}|vocabulary|{options.VocabularySize}")[..24]}.json");
            if (tokenizer is null && File.Exists(vocabularyPath) && await TryLoadVocabularyAsync(vocabularyPath, logger, cancellationToken).ConfigureAwait(false) is { } cached)
            {
                tokenizer = cached;
            }
            else
            {
                var counts = new WordCounts();
                await CountWordsAsync(plans, counts, progress, cancellationToken).ConfigureAwait(false);
                var rebuilt = WordLevelTokenizer.FromCounts(counts, tokenizer?.VocabSize ?? options.VocabularySize);
                double words = Math.Max(1, counts.TotalWords);
                double UnknownRate(WordLevelTokenizer vocabulary) => 1 - (counts.CountCovered(vocabulary.Words) / words);
                coverage = new VocabularyCoverage(UnknownRate((WordLevelTokenizer?)tokenizer ?? rebuilt), UnknownRate(rebuilt), counts.TotalWords);
                if (tokenizer is null)
                {
                    tokenizer = rebuilt;
                    Directory.CreateDirectory(cacheDirectory);
                    await tokenizer.SaveAsync(vocabularyPath, cancellationToken).ConfigureAwait(false);
                }
                else if (coverage.UnknownRate > coverage.RebuiltUnknownRate + options.UnknownRateWarningMargin)
                {
                    logger.LogWarning(
                        DataLogEvents.VocabularyCoverageLow,
                        "The given vocabulary leaves {Unknown:P1} of the words of {Source} unknown (<unk>); a vocabulary of the same size built from these rows would leave {Rebuilt:P1}. Keep it to continue a model on its own vocabulary, or rebuild it (as the original does at each level) and train the embedding anew",
                        coverage.UnknownRate, description, coverage.RebuiltUnknownRate);
                }
            }
        }

        var trainKey = CorpusCacheKey.For(whole is null ? $"{recipe}/train" : CorpusCacheKey.RowsOf(checksum, whole.Source.Format), tokenizer, options.MaxSequenceLength);
        var testKey = CorpusCacheKey.For(
            whole is null ? $"{recipe}/test" : CorpusCacheKey.RowsOf(SourceFiles.Fingerprint(whole.TestSha256), whole.Source.Format), tokenizer, options.MaxSequenceLength);
        var train = await TokenizedCorpus.TryOpenCacheAsync(cacheDirectory, trainKey, null, logger, cancellationToken).ConfigureAwait(false);
        var test = train is null ? null : await TokenizedCorpus.TryOpenCacheAsync(cacheDirectory, testKey, null, logger, cancellationToken).ConfigureAwait(false);
        if (train is null || test is null)
        {
            train?.Dispose();
            await EncodeAsync(plans, tokenizer, options, cacheDirectory, trainKey, testKey, logger, progress, cancellationToken).ConfigureAwait(false);
            train = await CorpusArrowCache.OpenAsync(cacheDirectory, trainKey, cancellationToken).ConfigureAwait(false);
            try
            {
                test = await CorpusArrowCache.OpenAsync(cacheDirectory, testKey, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                train.Dispose();
                throw;
            }
        }

        if (train.Count == 0 || test.Count == 0)
        {
            int trainCount = train.Count, testCount = test.Count;
            train.Dispose();
            test.Dispose();
            throw new InvalidDataException($"{description} gives {trainCount} training and {testCount} test dialogues{EmptyReason(plans)}.");
        }

        return new DialogueCorpus(train, test, tokenizer, coverage, checksum, description);
    }

    /// <summary>Why a split came out empty, to follow the counts: a row filter that left a set no rows (named with its filter), else too few rows.</summary>
    private static string EmptyReason(List<DialogueCorpusPlan> plans)
    {
        string[] filtered = [.. plans
            .Where(p => p.Source.Format.FiltersRows && (p.TrainFileRows.Sum() == 0 || (p.Source.TestFiles.Count > 0 && p.TestFileRows.Sum() == 0)))
            .Select(p => $"{(p.Source.Format is MathFormat math ? $"the MATH filter '{math.Filter}'" : $"the row filter of {p.Source.Format.Description}")} leaves no {(p.TrainFileRows.Sum() == 0 ? "training" : "test")} rows in {p.Source.Description}")];
        return filtered.Length > 0
            ? ": " + string.Join("; ", filtered) + ". Choose a filter that rows of these files pass"
            : "; both must be non-empty (more rows, or a larger MaxSamples, are needed)";
    }

    /// <summary>Releases the mapped cache files.</summary>
    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
    }

    private static async Task<DialogueTokenizer?> TryLoadVocabularyAsync(string path, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            var tokenizer = await DialogueTokenizer.LoadAsync(path, cancellationToken).ConfigureAwait(false);
            logger.LogInformation(DataLogEvents.VocabularyCacheLoaded, "Loaded the vocabulary from cache {Path}", path);
            return tokenizer;
        }
        catch (InvalidDataException e)
        {
            logger.LogWarning(DataLogEvents.VocabularyCacheUnreadable, "The vocabulary cache {Path} cannot be read ({Reason}); counting the words again", path, e.Message);
            return null;
        }
    }

    /// <summary>Which rows each set gives: its split, its share of the mixture, <c>MaxSamples</c>.</summary>
    private static void Select(List<DialogueCorpusPlan> plans, DialogueCorpusOptions options)
    {
        double sum = plans.Sum(p => p.Weight);
        foreach (var plan in plans)
        {
            plan.Weight /= sum;
            plan.Split(options);
        }

        // The largest mixture that keeps the shares without repeating a row, or MaxSamples rows in all (and MaxSamples / 10
        // test rows, as the original's max_samples // 10); one set alone takes min(MaxSamples, its rows).
        long Total(Func<DialogueCorpusPlan, int> available) => plans.Min(p => (long)Math.Floor(available(p) / p.Weight));
        long trainTotal = options.MaxSamples ?? Total(p => p.TrainOrder.Length);
        long testTotal = options.MaxSamples is int n ? n / 10 : Total(p => p.TestOrder.Length);
        foreach (var plan in plans)
        {
            plan.TrainTake = (int)Math.Min(plan.TrainOrder.Length, plans.Count == 1 ? trainTotal : Math.Round(plan.Weight * trainTotal));
            plan.TestTake = (int)Math.Min(plan.TestOrder.Length, plans.Count == 1 ? testTotal : Math.Round(plan.Weight * testTotal));
        }

        long offset = 0;
        foreach (var plan in plans)
        {
            plan.Mark(offset);
            offset += plan.TrainTake;
        }
    }

    private static string Checksum(List<DialogueCorpusPlan> plans, DialogueCorpusOptions options)
    {
        var text = new StringBuilder(FormatName).Append('\n');
        text.Append(CultureInfo.InvariantCulture, $"test_size={options.TestSize:R} seed={options.SplitSeed} max_samples={options.MaxSamples}\n");
        foreach (var plan in plans)
        {
            text.Append(CultureInfo.InvariantCulture, $"{plan.Source.Dataset.Name}|{plan.Source.Dataset.Subset}|{plan.Source.Format.Description}|{plan.Source.Dataset.VocabularyRowLimit}|{plan.Weight:R}\n");
            text.Append("train:").AppendJoin(',', plan.TrainSha256).Append("\ntest:").AppendJoin(',', plan.TestSha256).Append('\n');
        }

        return Hash(text.ToString());
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Counts the vocabulary words of the training rows the original builds its vocabulary from.</summary>
    private static async Task CountWordsAsync(List<DialogueCorpusPlan> plans, WordCounts counts, IProgress<CorpusProgress>? progress, CancellationToken cancellationToken)
    {
        long done = 0;
        long total = plans.Sum(p => (long)p.VocabularyTake);
        foreach (var plan in plans)
        {
            await foreach (var (index, row) in plan.ReadFilesAsync(false, plan.IsVocabularyRow, cancellationToken).ConfigureAwait(false))
            {
                if (plan.Source.Format.Read(row) is { } text)
                {
                    counts.Add(plan.VocabularyPosition(index), text.VocabularyText);
                }

                if (++done % ProgressEvery == 0)
                {
                    progress?.Report(new CorpusProgress("vocabulary", done, total));
                }
            }
        }

        progress?.Report(new CorpusProgress("vocabulary", done, total));
    }

    /// <summary>Encodes every selected row in one pass per file into the two caches.</summary>
    private static async Task EncodeAsync(
        List<DialogueCorpusPlan> plans, DialogueTokenizer tokenizer, DialogueCorpusOptions options, string cacheDirectory,
        CorpusCacheKey trainKey, CorpusCacheKey testKey, ILogger logger, IProgress<CorpusProgress>? progress, CancellationToken cancellationToken)
    {
        await using var trainWriter = CorpusCacheWriter.Create(cacheDirectory, trainKey, tokenizer, options.MaxDegreeOfParallelism);
        await using var testWriter = CorpusCacheWriter.Create(cacheDirectory, testKey, tokenizer, options.MaxDegreeOfParallelism);
        long done = 0, skipped = 0;
        long total = plans.Sum(p => (long)p.TrainTake + p.TestTake);

        foreach (var plan in plans)
        {
            bool[] fileSets = plan.TestFileRows.Length > 0 ? [false, true] : [false];
            foreach (bool testFiles in fileSets)
            {
                Func<long, bool> include = testFiles ? plan.IsSelectedTestFileRow : i => plan.RoleOfTrainFileRow(i) != DialogueCorpusPlan.Role.None;
                await foreach (var (index, row) in plan.ReadFilesAsync(testFiles, include, cancellationToken).ConfigureAwait(false))
                {
                    bool isTest = testFiles || plan.RoleOfTrainFileRow(index) == DialogueCorpusPlan.Role.Test;
                    if (plan.Source.Format.Read(row) is { } text)
                    {
                        await (isTest ? testWriter : trainWriter).AddTextAsync(text.Text, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        skipped++;
                    }

                    if (++done % ProgressEvery == 0)
                    {
                        progress?.Report(new CorpusProgress("tokenizing", done, total));
                    }
                }
            }
        }

        await trainWriter.CompleteAsync(cancellationToken).ConfigureAwait(false);
        await testWriter.CompleteAsync(cancellationToken).ConfigureAwait(false);
        progress?.Report(new CorpusProgress("tokenizing", done, total));
        if (skipped > 0)
        {
            logger.LogInformation(DataLogEvents.EmptyDialoguesSkipped, "{Skipped} selected rows hold no dialogue (no turns) and are left out, as the original leaves them out", skipped);
        }

        logger.LogInformation(DataLogEvents.DialoguesTokenized, "Tokenized {Train} training and {Test} test rows into the cache {Directory}", trainWriter.RowCount, testWriter.RowCount, cacheDirectory);
    }
}
