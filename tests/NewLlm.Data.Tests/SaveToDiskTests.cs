using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

public class SaveToDiskTests
{
    private static async Task WriteArrowStreamAsync(string path, IEnumerable<(string? Chosen, string? Rejected)> rows, string rejectedName = "rejected")
    {
        var schema = new Schema.Builder()
            .Field(f => f.Name("chosen").DataType(StringType.Default))
            .Field(f => f.Name(rejectedName).DataType(StringType.Default))
            .Build();
        var chosen = new StringArray.Builder();
        var rejected = new StringArray.Builder();
        int count = 0;
        foreach (var (c, r) in rows)
        {
            if (c is null) { chosen.AppendNull(); } else { chosen.Append(c); }
            if (r is null) { rejected.AppendNull(); } else { rejected.Append(r); }
            count++;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var stream = File.Create(path);
        using var writer = new ArrowStreamWriter(stream, schema);
        await writer.WriteRecordBatchAsync(new RecordBatch(schema, [chosen.Build(), rejected.Build()], count));
        await writer.WriteEndAsync();
    }

    [Fact]
    public async Task LoadReadsDataFilesInOrder()
    {
        using var temp = new TempDirectory();
        await WriteArrowStreamAsync(temp.Combine("data-00001-of-00002.arrow"), [(Fixtures.Dialogues[2].Chosen, Fixtures.Dialogues[2].Rejected)]);
        await WriteArrowStreamAsync(temp.Combine("data-00000-of-00002.arrow"), Fixtures.Dialogues[..2].Select(d => ((string?)d.Chosen, (string?)d.Rejected)));
        File.WriteAllText(temp.Combine("dataset_info.json"), "{}");
        var dataset = await HhRlhfDataset.LoadFromArrowDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Train);
        Assert.Equal(Fixtures.Dialogues.Select(d => d.Chosen), dataset.Select(r => r.Chosen));
        Assert.Equal(Fixtures.Dialogues.Select(d => d.Rejected), dataset.Select(r => r.Rejected));
        Assert.Equal("Human: What colour is the sky? Assistant: The sky is blue on a clear day.", dataset[0].NormalizedChosen);
        Assert.Equal(HhRlhfSubset.Harmless, dataset.Subset);
        Assert.Equal(64, dataset.SourceChecksum.Length);
    }

    [Fact]
    public async Task LoadDatasetDictUsesTheSplitFolderAndStateJson()
    {
        using var temp = new TempDirectory();
        await WriteArrowStreamAsync(temp.Combine("train", "b.arrow"), [("train b", "x")]);
        await WriteArrowStreamAsync(temp.Combine("train", "a.arrow"), [("train a", "x")]);
        File.WriteAllText(temp.Combine("train", "state.json"), "{\"_data_files\": [{\"filename\": \"b.arrow\"}, {\"filename\": \"a.arrow\"}]}");
        await WriteArrowStreamAsync(temp.Combine("test", "data-00000-of-00001.arrow"), [("test", "x")]);
        var train = await HhRlhfDataset.LoadFromArrowDirectoryAsync(temp.Path, HhRlhfSubset.Helpful, HhRlhfSplit.Train);
        var test = await HhRlhfDataset.LoadFromArrowDirectoryAsync(temp.Path, HhRlhfSubset.Helpful, HhRlhfSplit.Test);
        Assert.Equal(["train b", "train a"], train.Select(r => r.Chosen));
        Assert.Equal(["test"], test.Select(r => r.Chosen));
    }

    [Fact]
    public async Task LoadMissingColumnNullOrGarbageThrowInvalidData()
    {
        using var temp = new TempDirectory();
        await WriteArrowStreamAsync(temp.Combine("a", "data-00000-of-00001.arrow"), [("c", "r")], rejectedName: "other");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => HhRlhfDataset.LoadFromArrowDirectoryAsync(temp.Combine("a")));
        Assert.Contains("'rejected'", e.Message, StringComparison.Ordinal);

        await WriteArrowStreamAsync(temp.Combine("b", "data-00000-of-00001.arrow"), [("c", "r"), ("c", null)]);
        e = await Assert.ThrowsAsync<InvalidDataException>(() => HhRlhfDataset.LoadFromArrowDirectoryAsync(temp.Combine("b")));
        Assert.Contains("row 1: the row has no 'rejected' string", e.Message, StringComparison.Ordinal); // rows count from 0, as dataset[i]

        Directory.CreateDirectory(temp.Combine("c"));
        File.WriteAllBytes(temp.Combine("c", "data-00000-of-00001.arrow"), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        e = await Assert.ThrowsAsync<InvalidDataException>(() => HhRlhfDataset.LoadFromArrowDirectoryAsync(temp.Combine("c")));
        Assert.Contains(temp.Combine("c", "data-00000-of-00001.arrow"), e.Message, StringComparison.Ordinal);

        await WriteArrowStreamAsync(temp.Combine("e", "data-00000-of-00001.arrow"), [("c", "r")]);
        File.WriteAllText(temp.Combine("e", "state.json"), "{\"_data_files\": [{\"filename\": \"../a/data-00000-of-00001.arrow\"}]}");
        e = await Assert.ThrowsAsync<InvalidDataException>(() => HhRlhfDataset.LoadFromArrowDirectoryAsync(temp.Combine("e")));
        Assert.Contains("not a plain file name", e.Message, StringComparison.Ordinal);

        Directory.CreateDirectory(temp.Combine("d"));
        await Assert.ThrowsAsync<FileNotFoundException>(() => HhRlhfDataset.LoadFromArrowDirectoryAsync(temp.Combine("d")));
    }
}
