using System.IO.Enumeration;

namespace NewLlm.Data;

/// <summary>
/// The local files of a <see cref="DialogueDataset"/>: its training files and test files (none when the set is split),
/// found in a folder laid out like the Hub repository, in a <c>save_to_disk</c> folder, among files you name, or
/// downloaded from the Hub (verified and cached as <see cref="HuggingFaceHubDownloader"/> does).
/// </summary>
public sealed class DialogueSource
{
    private DialogueSource(DialogueDataset dataset, DialogueFormat format, IReadOnlyList<string> trainFiles, IReadOnlyList<string> testFiles, string description)
    {
        Dataset = dataset;
        Format = format;
        TrainFiles = trainFiles;
        TestFiles = testFiles;
        Description = description;
    }

    /// <summary>The data set.</summary>
    public DialogueDataset Dataset { get; }

    /// <summary>How the rows become text (the data set's, or for JSON Lines of your own the one the first row told).</summary>
    public DialogueFormat Format { get; }

    /// <summary>The training files, in the order their rows are numbered.</summary>
    public IReadOnlyList<string> TrainFiles { get; }

    /// <summary>The test files; empty when the training rows are split 90/10.</summary>
    public IReadOnlyList<string> TestFiles { get; }

    /// <summary>Where the files are, for messages and run reports.</summary>
    public string Description { get; }

    /// <summary>
    /// The files of a data set in a local folder laid out like its Hub repository (<c>{folder}/data/train_sft-*.parquet</c>,
    /// <c>{folder}/harmless-base/train.jsonl.gz</c>, …) or written by <c>save_to_disk</c> (<c>data-*.arrow</c>, a
    /// <c>DatasetDict</c> with split folders). For <see cref="DialogueDataset.JsonLines"/>: a file, a folder with
    /// <c>train.jsonl</c> and <c>test.jsonl</c> (or <c>.jsonl.gz</c>), or a folder whose JSON Lines files are all training rows.
    /// For <see cref="DialogueDataset.CodeAlpaca"/>: the folder, or the <c>.json</c> file itself. For
    /// <see cref="DialogueDataset.Math"/>: the Hub's Parquet layout, or the original release's tree
    /// (<c>MATH/train/&lt;type&gt;/&lt;n&gt;.json</c>, <c>MATH/test/…</c>) given as the folder holding <c>MATH/</c> (or
    /// <c>MATH.zip</c>, or one <c>MATH*.zip</c>), <c>MATH/</c> itself, or a <c>.zip</c> of it, read in place (<see cref="TrainFiles"/> then names the split folders, in a zip as
    /// <c>{zip}!{folder}</c>): the type folders in ordinal order, the files of one by their number.
    /// </summary>
    /// <param name="dataset">The data set.</param>
    /// <param name="path">The folder (or, for JSON Lines and CodeAlpaca, the file; for MATH, a zip).</param>
    /// <param name="cancellationToken">Cancels the work (reading the first row to tell a JSON Lines format).</param>
    /// <returns>The source.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder lacks the set's files; the message says what it holds and what was expected.</exception>
    public static async Task<DialogueSource> FromDirectoryAsync(DialogueDataset dataset, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (File.Exists(path) && (dataset.Name == "jsonl" || (dataset.Name == "codealpaca" && path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))))
        {
            return await CreateAsync(dataset, [Path.GetFullPath(path)], [], path, cancellationToken).ConfigureAwait(false);
        }

        if (dataset.Name == "math" && (Directory.Exists(path) || File.Exists(path)) && !Directory.Exists(Path.Combine(path, "data")) && MathTreeLayout.Find(path) is var (mathTrain, mathTest))
        {
            return await CreateAsync(dataset, [mathTrain], [mathTest], path, cancellationToken).ConfigureAwait(false);
        }

        if (!Directory.Exists(path))
        {
            throw File.Exists(path)
                ? new DirectoryNotFoundException($"'{path}' is a file, not a folder.{Expected(dataset, path)}")
                : new DirectoryNotFoundException($"The {dataset.DisplayName} folder '{path}' does not exist.{Expected(dataset, path)}");
        }

        if (IsSaveToDisk(path, dataset))
        {
            var train = ArrowRowReader.ListDataFiles(path, dataset.TrainSplitName);
            var test = dataset.HasTestSplit ? ArrowRowReader.ListDataFiles(path, dataset.TestSplitName) : [];
            return await CreateAsync(dataset, train, test, $"{path} (save_to_disk)", cancellationToken).ConfigureAwait(false);
        }

        if (dataset.Name == "jsonl")
        {
            string? trainFile = FindFirst(path, "train.jsonl.gz", "train.jsonl");
            string? testFile = FindFirst(path, "test.jsonl.gz", "test.jsonl");
            if (trainFile is not null && testFile is not null)
            {
                return await CreateAsync(dataset, [trainFile], [testFile], path, cancellationToken).ConfigureAwait(false);
            }
        }

        var (trainFiles, missingTrain) = Match(path, dataset.TrainFilePatterns);
        var (testFiles, missingTest) = Match(path, dataset.TestFilePatterns);
        if ((missingTrain ?? (dataset.HasTestSplit ? missingTest : null)) is { } missing)
        {
            throw new FileNotFoundException(
                dataset.Name == "hh-rlhf"
                    ? HhRlhfLayout.DescribeMissingFile(path, missing)
                    : $"'{path}' holds no {missing}.{Expected(dataset, path)} {DescribeFolder(path)}",
                Path.Combine(path, missing.Split(" or ")[0]));
        }

        return await CreateAsync(dataset, trainFiles, testFiles, path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A source of files you name (JSON Lines, Parquet or Arrow files, by their names).</summary>
    /// <param name="dataset">The data set whose format the files have.</param>
    /// <param name="trainFiles">The training files.</param>
    /// <param name="testFiles">The test files, or none to split the training rows 90/10.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The source.</returns>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    public static Task<DialogueSource> FromFilesAsync(DialogueDataset dataset, IReadOnlyList<string> trainFiles, IReadOnlyList<string>? testFiles = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(trainFiles);
        if (trainFiles.Count == 0)
        {
            throw new ArgumentException("At least one training file is needed.", nameof(trainFiles));
        }

        testFiles ??= [];
        foreach (string file in trainFiles.Concat(testFiles).Where(f => !File.Exists(f)))
        {
            throw new FileNotFoundException($"The {dataset.DisplayName} file '{file}' does not exist.", file);
        }

        return CreateAsync(dataset, [.. trainFiles.Select(Path.GetFullPath)], [.. testFiles.Select(Path.GetFullPath)], string.Join(", ", trainFiles.Concat(testFiles)), cancellationToken);
    }

    /// <summary>
    /// The files of a data set from its Hub repository, through the Hub cache: missing ones downloaded and verified (known
    /// checksums, the listed LFS sha256, or the Hub's headers); files named by patterns (<c>data/train_sft-*.parquet</c>)
    /// listed first (<see cref="HuggingFaceHubDownloader.ListFilesAsync"/>). A file no checksum vouches for is read through:
    /// a cached one that cannot be read is downloaded once more (offline, the error names the files to delete).
    /// </summary>
    /// <param name="dataset">The data set (one with a <see cref="DialogueDataset.HubRepositoryId"/>).</param>
    /// <param name="options">Hub options; <see langword="null"/> for <see cref="HuggingFaceHubOptions.FromEnvironment"/>.</param>
    /// <param name="progress">Receives download progress.</param>
    /// <param name="logger">A logger.</param>
    /// <param name="cancellationToken">Cancels the downloads.</param>
    /// <returns>The source.</returns>
    /// <exception cref="InvalidDataException">A checksum mismatch, or a file that cannot be read.</exception>
    public static async Task<DialogueSource> FromHubAsync(
        DialogueDataset dataset, HuggingFaceHubOptions? options = null, IProgress<DownloadProgress>? progress = null,
        ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        string repository = dataset.HubRepositoryId
            ?? throw new ArgumentException($"{dataset.DisplayName} is read from your own files, not from the Hub: use FromDirectoryAsync or FromFilesAsync.", nameof(dataset));
        options ??= HuggingFaceHubOptions.FromEnvironment();
        var hub = new HubFiles(new HuggingFaceHubDownloader(options, logger), options.Offline, repository, dataset.Format!, progress, logger);

        async Task<List<string>> GetAsync(IReadOnlyList<string> patterns)
        {
            var files = new List<string>();
            foreach (string pattern in patterns)
            {
                if (!pattern.Contains('*', StringComparison.Ordinal))
                {
                    var known = HhRlhfLayout.GetKnownChecksum(pattern);
                    files.Add(await hub.GetReadableAsync(pattern, known?.Sha256, known?.Size, cancellationToken).ConfigureAwait(false));
                    continue;
                }

                int slash = pattern.LastIndexOf('/');
                string folder = slash < 0 ? string.Empty : pattern[..slash];
                string name = pattern[(slash + 1)..];
                var listed = (await hub.Downloader.ListFilesAsync(repository, folder, cancellationToken).ConfigureAwait(false))
                    .Where(f => f.Path.LastIndexOf('/') == slash && FileSystemName.MatchesSimpleExpression(name, f.Path.AsSpan(slash + 1), ignoreCase: false))
                    .ToList();
                if (listed.Count == 0)
                {
                    throw new FileNotFoundException($"The Hub repository {repository} holds no {pattern}.", pattern);
                }

                foreach (var file in listed)
                {
                    files.Add(await hub.GetReadableAsync(file.Path, file.Sha256, file.Size, cancellationToken).ConfigureAwait(false));
                }
            }

            return files;
        }

        var train = await GetAsync(dataset.TrainFilePatterns).ConfigureAwait(false);
        var test = await GetAsync(dataset.TestFilePatterns).ConfigureAwait(false);
        return await CreateAsync(dataset, train, test, hub.Downloader.GetFileUrl(repository, string.Empty).ToString().TrimEnd('/'), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Dataset.DisplayName} from {Description}";

    private static async Task<DialogueSource> CreateAsync(DialogueDataset dataset, IReadOnlyList<string> train, IReadOnlyList<string> test, string description, CancellationToken cancellationToken)
    {
        var format = dataset.Format ?? await DetectFormatAsync(train[0], cancellationToken).ConfigureAwait(false);
        return new DialogueSource(dataset, format, train, test, description);
    }

    /// <summary>Tells a JSON Lines file's format from its first row: <c>messages</c>, <c>text</c>, or <c>chosen</c> and <c>rejected</c>.</summary>
    private static async Task<DialogueFormat> DetectFormatAsync(string file, CancellationToken cancellationToken)
    {
        await foreach (var row in SourceFiles.ReadAsync(file, ["messages", "text", "chosen", "rejected"], RowLimit.Default, cancellationToken).ConfigureAwait(false))
        {
            JsonObject fields = row.Fields;
            if (fields["messages"] is JsonArray)
            {
                return new ChatMessagesFormat();
            }

            if (fields.ContainsKey("text"))
            {
                return new TextFieldFormat();
            }

            if (fields.ContainsKey("chosen") && fields.ContainsKey("rejected"))
            {
                return new PreferencePairFormat();
            }

            throw new InvalidDataException(
                $"{row.Location}: the row has none of the fields a dialogue is read from: a 'messages' list of {{role, content}}, a 'text' string, "
                + $"or 'chosen' and 'rejected' strings ({RowFields.Describe(fields)}). Name the field to read (a ChatMessagesFormat, TextFieldFormat or PreferencePairFormat with its field name).");
        }

        throw new InvalidDataException($"'{file}' holds no rows.");
    }

    private static bool IsSaveToDisk(string path, DialogueDataset dataset) =>
        File.Exists(Path.Combine(path, "dataset_dict.json")) || File.Exists(Path.Combine(path, "state.json"))
        || Directory.EnumerateFiles(path, "data-*.arrow").Any()
        || File.Exists(Path.Combine(path, dataset.TrainSplitName, "state.json"));

    private static string? FindFirst(string folder, params string[] names) =>
        names.Select(n => Path.Combine(folder, n)).FirstOrDefault(File.Exists);

    /// <summary>
    /// The files matching the patterns, each pattern's in ordinal order (as <c>datasets</c> sorts them; a <c>.jsonl.gz</c>
    /// may be kept as <c>.jsonl</c>), and what is missing: the first file named outright, or all patterns when nothing matched.
    /// </summary>
    private static (List<string> Files, string? Missing) Match(string root, IReadOnlyList<string> patterns)
    {
        var files = new List<string>();
        string? missing = null;
        foreach (string pattern in patterns)
        {
            int slash = pattern.LastIndexOf('/');
            string folder = Path.Combine(root, slash < 0 ? string.Empty : pattern[..slash]);
            string name = pattern[(slash + 1)..];
            if (!name.Contains('*', StringComparison.Ordinal))
            {
                string? found = FindFirst(folder, name, name.EndsWith(".jsonl.gz", StringComparison.Ordinal) ? name[..^3] : name);
                if (found is null)
                {
                    missing ??= pattern;
                }
                else
                {
                    files.Add(Path.GetFullPath(found));
                }
            }
            else if (Directory.Exists(folder))
            {
                files.AddRange(Directory.EnumerateFiles(folder)
                    .Where(f => FileSystemName.MatchesSimpleExpression(name, Path.GetFileName(f), ignoreCase: false))
                    .Select(Path.GetFullPath)
                    .Order(StringComparer.Ordinal));
            }
        }

        return (files, files.Count == 0 ? string.Join(" or ", patterns) : missing);
    }

    private static string Repository(DialogueDataset dataset) => dataset.HubRepositoryId is null ? "its own files" : $"the Hub repository {dataset.HubRepositoryId}";

    private static string Expected(DialogueDataset dataset, string path) => dataset.Name switch
    {
        "jsonl" => " Give a JSON Lines file (.jsonl or .jsonl.gz), or a folder holding train.jsonl and test.jsonl, or JSON Lines files that are all training rows.",
        "hh-rlhf" => " " + HhRlhfLayout.ExpectedLayout(path, dataset.TrainFilePatterns[0]),
        "math" => $" A MATH folder is laid out like {Repository(dataset)} ({string.Join(", ", dataset.TrainFilePatterns.Concat(dataset.TestFilePatterns).Select(p => Path.Combine(path, p)))}), or is {MathTreeLayout.Expected}.",
        "codealpaca" => $" Give the folder holding code_alpaca_20k.json (the file of {Repository(dataset)}), or the .json file itself.",
        _ => $" A {dataset.DisplayName} folder is laid out like {Repository(dataset)} ({string.Join(", ", dataset.TrainFilePatterns.Concat(dataset.TestFilePatterns).Select(p => Path.Combine(path, p)))}), or written by save_to_disk.",
    };

    /// <summary>What a folder holds (its first ten entries, folders ending in <c>/</c>), for messages.</summary>
    internal static string DescribeFolder(string path)
    {
        string[] entries = [.. Directory.EnumerateDirectories(path).Select(d => Path.GetFileName(d) + "/"), .. Directory.EnumerateFiles(path).Select(Path.GetFileName).OfType<string>()];
        Array.Sort(entries, StringComparer.Ordinal);
        return entries.Length == 0
            ? $"'{path}' is empty."
            : $"It holds {string.Join(", ", entries.Take(10))}{(entries.Length > 10 ? $" and {entries.Length - 10} more" : string.Empty)}.";
    }
}
