namespace NewLlm.Data;

/// <summary>One set of the corpus: its files' rows and which of them go where.</summary>
internal sealed class DialogueCorpusPlan(DialogueMixtureComponent component, RowLimit limit)
{
    /// <summary>What a row of a set's training files is in the corpus.</summary>
    public enum Role : byte
    {
        None,
        Train,
        Test,
    }

    private Role[] _roles = [];
    private int[] _trainPosition = [];
    private bool[] _testSelected = [];
    private long _vocabularyOffset;

    public DialogueSource Source { get; } = component.Source;

    public double Weight { get; set; } = component.Weight;

    public long[] TrainFileRows { get; private set; } = [];

    public long[] TestFileRows { get; private set; } = [];

    public string[] TrainSha256 { get; private set; } = [];

    public string[] TestSha256 { get; private set; } = [];

    /// <summary>The training files' row indices in the original's training order.</summary>
    public int[] TrainOrder { get; private set; } = [];

    /// <summary>The test rows in the original's order: indices into the test files, or into the training files when split.</summary>
    public int[] TestOrder { get; private set; } = [];

    public int TrainTake { get; set; }

    public int TestTake { get; set; }

    public int VocabularyTake { get; private set; }

    public static async Task<DialogueCorpusPlan> CountAsync(DialogueMixtureComponent component, RowLimit limit, IProgress<CorpusProgress>? progress, CancellationToken cancellationToken)
    {
        var plan = new DialogueCorpusPlan(component, limit);
        long rows = 0;
        async Task<(long[] Rows, string[] Sha256)> CountFilesAsync(IReadOnlyList<string> files)
        {
            var counts = new long[files.Count];
            var hashes = new string[files.Count];
            for (int i = 0; i < files.Count; i++)
            {
                counts[i] = await SourceFiles.CountRowsAsync(files[i], component.Source.Format, limit, cancellationToken).ConfigureAwait(false);
                hashes[i] = await SourceFiles.Sha256Async(files[i], cancellationToken).ConfigureAwait(false);
                rows += counts[i];
                progress?.Report(new CorpusProgress("counting", rows, null));
            }

            return (counts, hashes);
        }

        (plan.TrainFileRows, plan.TrainSha256) = await CountFilesAsync(component.Source.TrainFiles).ConfigureAwait(false);
        (plan.TestFileRows, plan.TestSha256) = await CountFilesAsync(component.Source.TestFiles).ConfigureAwait(false);
        if (plan.TrainFileRows.Sum() > int.MaxValue || plan.TestFileRows.Sum() > int.MaxValue)
        {
            throw new InvalidDataException($"{component.Source} has more than {int.MaxValue} rows; split it into several sources.");
        }

        return plan;
    }

    public void Split(DialogueCorpusOptions options)
    {
        int trainRows = (int)TrainFileRows.Sum();
        if (TestFileRows.Length == 0)
        {
            try
            {
                (TrainOrder, TestOrder) = DatasetSplit.TrainTestSplit(trainRows, options.TestSize, options.SplitSeed);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{Source} has no test files, so its rows are split for validation: {e.Message.Split(" (Parameter", 2)[0]}", e);
            }
        }
        else
        {
            TrainOrder = [.. Enumerable.Range(0, trainRows)];
            TestOrder = [.. Enumerable.Range(0, (int)TestFileRows.Sum())];
        }
    }

    public void Mark(long vocabularyOffset)
    {
        _vocabularyOffset = vocabularyOffset;
        VocabularyTake = Math.Min(TrainTake, Source.Dataset.VocabularyRowLimit ?? int.MaxValue);
        _roles = new Role[TrainFileRows.Sum()];
        _trainPosition = new int[_roles.Length];
        for (int p = 0; p < TrainTake; p++)
        {
            _roles[TrainOrder[p]] = Role.Train;
            _trainPosition[TrainOrder[p]] = p;
        }

        if (TestFileRows.Length == 0)
        {
            for (int p = 0; p < TestTake; p++)
            {
                _roles[TestOrder[p]] = Role.Test;
            }
        }
        else
        {
            _testSelected = new bool[TestFileRows.Sum()];
            for (int p = 0; p < TestTake; p++)
            {
                _testSelected[TestOrder[p]] = true;
            }
        }
    }

    public Role RoleOfTrainFileRow(long index) => _roles[index];

    public bool IsSelectedTestFileRow(long index) => _testSelected[index];

    public bool IsVocabularyRow(long index) => _roles[index] == Role.Train && _trainPosition[index] < VocabularyTake;

    public long VocabularyPosition(long index) => _vocabularyOffset + _trainPosition[index];

    /// <summary>The rows of the training or the test files with their index across all of them (the split numbers them so).</summary>
    public async IAsyncEnumerable<(long Index, SourceRow Row)> ReadFilesAsync(
        bool testFiles, Func<long, bool> include, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (files, rows) = testFiles ? (Source.TestFiles, TestFileRows) : (Source.TrainFiles, TrainFileRows);
        long first = 0;
        for (int f = 0; f < files.Count; f++)
        {
            long start = first;
            await foreach (var (index, row) in SourceFiles.ReadIndexedAsync(files[f], Source.Format, i => i < rows[f] && include(start + i), limit, cancellationToken).ConfigureAwait(false))
            {
                yield return (start + index, row);
            }

            first += rows[f];
        }
    }
}
