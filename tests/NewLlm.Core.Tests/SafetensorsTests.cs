using System.Buffers.Binary;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

public sealed class SafetensorsTests : IDisposable
{
    private readonly NewLlm.Tests.TempDirectory _temp = new("newllm-safetensors-tests");

    private static NewLlmOptions Tiny => new() { VocabSize = 17, EmbedDim = 4, HiddenDim = 6, ContextDim = 5, NumLayers = 2, Dropout = 0 };

    private string Folder => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void SaveThenLoadGivesTheSameFunction()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(Folder, "w.safetensors");
        torch.manual_seed(1);
        using var a = new NewLlmModel(Tiny);
        a.SaveSafetensors(path);
        using NewLlmModel b = NewLlmModel.FromSafetensors(path, dropout: 0);
        Assert.Equal(Tiny.ToString(), b.Options.ToString());
        Tensor ids = randint(0, 17, new long[] { 2, 4 }, dtype: ScalarType.Int64);
        a.eval();
        b.eval();
        Assert.Equal(0f, (a.call(ids) - b.call(ids)).abs().max().item<float>());
        Assert.Empty(Directory.GetFiles(Folder, "*.tmp*"));
    }

    [Fact]
    public void FileLayoutIsSafetensors()
    {
        string path = Path.Combine(Folder, "w.safetensors");
        using var model = new NewLlmModel(Tiny);
        model.SaveSafetensors(path);
        byte[] bytes = File.ReadAllBytes(path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.Contains("\"token_embedding.weight\":{\"dtype\":\"F32\",\"shape\":[17,4]", header);
        Assert.Equal(0, (int)(8 + headerLength) % 8);
        long floats = model.ParameterCount;
        Assert.Equal(8 + (long)headerLength + 4 * floats, bytes.Length);
    }

    [Fact]
    public void TruncatedFileIsRejectedWithItsName()
    {
        string path = Path.Combine(Folder, "w.safetensors");
        using var model = new NewLlmModel(Tiny);
        model.SaveSafetensors(path);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 10)]);
        var ex = Assert.Throws<InvalidDataException>(() => model.LoadSafetensors(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("truncated", ex.Message);

        File.WriteAllBytes(path, bytes[..5]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => model.LoadSafetensors(path)).Message);
    }

    [Fact]
    public void MissingAndWrongShapedTensorsAreNamed()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(Folder, "w.safetensors");
        using var model = new NewLlmModel(Tiny);
        var tensors = model.state_dict().Where(kv => kv.Key != "input_gate.bias")
            .Select(kv => kv.Key == "forget_gate.weight" ? new KeyValuePair<string, Tensor>(kv.Key, zeros(3, 3)) : kv).ToList();
        SafetensorsFile.Write(path, tensors);
        var ex = Assert.Throws<InvalidDataException>(() => model.LoadSafetensors(path));
        Assert.Contains("'input_gate.bias' is missing", ex.Message);
        Assert.Contains("'forget_gate.weight' has shape [3, 3]", ex.Message);
    }

    [Fact]
    public void UnexpectedTensorsAreAnErrorUnlessAllowed()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(Folder, "w.safetensors");
        using var model = new NewLlmModel(Tiny);
        var tensors = model.state_dict().ToList();
        tensors.Add(new("extra.thing", ones(2)));
        SafetensorsFile.Write(path, tensors);
        Assert.Contains("'extra.thing'", Assert.Throws<InvalidDataException>(() => model.LoadSafetensors(path)).Message);
        model.LoadSafetensors(path, allowUnexpected: true);
    }

    [Fact]
    public void MalformedHeaderIsRejected()
    {
        string path = Path.Combine(Folder, "bad.safetensors");
        byte[] json = Encoding.UTF8.GetBytes("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}");
        byte[] file = new byte[8 + json.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        File.WriteAllBytes(path, file);
        Assert.Contains("needs 8 bytes", Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(path)).Message);

        File.WriteAllBytes(path, [.. BitConverter.GetBytes(3UL), .. "{x}"u8.ToArray()]);
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(path)).Message);

        Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Read(Path.Combine(Folder, "none.safetensors")));
    }

    [Fact]
    public void InferOptionsReadsEveryDimensionFromShapes()
    {
        var shapes = new Dictionary<string, long[]>
        {
            ["token_embedding.weight"] = new long[] { 100, 16 },
            ["fnn_layers.0.weight"] = new long[] { 32, 24 },
            ["fnn_layers.3.weight"] = new long[] { 32, 32 },
            ["fnn_layers.6.weight"] = new long[] { 32, 32 },
            ["context_update.weight"] = new long[] { 8, 32 },
        };
        NewLlmOptions o = NewLlmModel.InferOptions(shapes);
        Assert.Equal((100, 16, 32, 8, 3), (o.VocabSize, o.EmbedDim, o.HiddenDim, o.ContextDim, o.NumLayers));
        shapes["fnn_layers.0.weight"] = new long[] { 32, 25 };
        Assert.Throws<InvalidDataException>(() => NewLlmModel.InferOptions(shapes));
    }
}
