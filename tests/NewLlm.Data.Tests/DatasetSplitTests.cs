using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using NewLlm.Data.Tests.Infrastructure;

namespace NewLlm.Data.Tests;

/// <summary>
/// <see cref="DatasetSplit"/> against NumPy: Fixtures/numpy_split.json was written by Fixtures/numpy_split.py
/// (NumPy 1.24.2) and holds SeedSequence states, PCG64 outputs, <c>default_rng(seed).permutation(n)</c> and the
/// <c>datasets</c> <c>train_test_split</c> index lists for 9 sizes and 7 seeds.
/// </summary>
public class DatasetSplitTests
{
    private static readonly Lazy<JsonDocument> Expected = new(() =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(SharedData.RepositoryRoot, "tests", "NewLlm.Data.Tests", "Fixtures", "numpy_split.json"))));

    public static TheoryData<string> Seeds()
    {
        var data = new TheoryData<string>();
        foreach (var seed in Expected.Value.RootElement.GetProperty("seeds").EnumerateArray())
        {
            data.Add(seed.GetProperty("seed").GetString()!);
        }

        return data;
    }

    public static TheoryData<int, string> Cases()
    {
        var data = new TheoryData<int, string>();
        foreach (var c in Expected.Value.RootElement.GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("n").GetInt32(), c.GetProperty("seed").GetString()!);
        }

        return data;
    }

    [Fact]
    public void FixtureCoversTheSizesAndSeedsAskedFor()
    {
        var cases = Cases().Select(row => ((int)row[0], (string)row[1])).ToHashSet();
        foreach (int n in new[] { 0, 1, 2, 10, 1000, 15011, 70000 })
        {
            foreach (string seed in new[] { "0", "1", "42", "12345", "4294967301", "18446744073709551615" })
            {
                Assert.Contains((n, seed), cases);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void SeedSequenceStateMatchesNumPy(string seed)
    {
        var expected = SeedEntry(seed).GetProperty("state").EnumerateArray().Select(e => ulong.Parse(e.GetString()!, CultureInfo.InvariantCulture));
        Assert.Equal(expected, NumPySeedSequence.GenerateState64(NumPySeedSequence.EntropyWords(ulong.Parse(seed, CultureInfo.InvariantCulture)), 4));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Pcg64OutputsMatchNumPy(string seed)
    {
        var entry = SeedEntry(seed);
        ulong value = ulong.Parse(seed, CultureInfo.InvariantCulture);

        var wide = new NumPyPcg64(value);
        var expected64 = entry.GetProperty("next64").EnumerateArray().Select(e => ulong.Parse(e.GetString()!, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(expected64, expected64.Select(_ => wide.NextUInt64()));

        var narrow = new NumPyPcg64(value);
        var expected32 = entry.GetProperty("next32").EnumerateArray().Select(e => e.GetUInt32()).ToArray();
        Assert.Equal(expected32, expected32.Select(_ => narrow.NextUInt32()));
    }

    [Fact]
    public void NextUInt32ReturnsTheLowThenTheHighHalfOfOneOutput()
    {
        var wide = new NumPyPcg64(42);
        var narrow = new NumPyPcg64(42);
        ulong first = wide.NextUInt64();
        Assert.Equal((uint)first, narrow.NextUInt32());
        Assert.Equal((uint)(first >> 32), narrow.NextUInt32());
        Assert.Equal((uint)wide.NextUInt64(), narrow.NextUInt32());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PermutationMatchesNumPyDefaultRng(int n, string seed)
    {
        int[] permutation = DatasetSplit.Permutation(n, ulong.Parse(seed, CultureInfo.InvariantCulture));
        AssertIndices(Case(n, seed).GetProperty("permutation"), permutation, edges: true);
        Assert.Equal(Enumerable.Range(0, n), permutation.Order());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainTestSplitMatchesDatasets(int n, string seed)
    {
        ulong value = ulong.Parse(seed, CultureInfo.InvariantCulture);
        foreach (var split in Case(n, seed).GetProperty("splits").EnumerateArray())
        {
            double testSize = split.GetProperty("test_size").GetDouble();
            if (split.TryGetProperty("error", out _))
            {
                var error = Assert.Throws<ArgumentException>(() => DatasetSplit.TrainTestSplit(n, testSize, value));
                Assert.Contains("train split would be empty", error.Message, StringComparison.Ordinal);
                continue;
            }

            var (train, test) = DatasetSplit.TrainTestSplit(n, testSize, value);
            Assert.Equal(split.GetProperty("n_test").GetInt32(), test.Length);
            Assert.Equal(split.GetProperty("n_train").GetInt32(), train.Length);
            AssertIndices(split.GetProperty("test"), test, edges: false);
            AssertIndices(split.GetProperty("train"), train, edges: false);
        }
    }

    [Fact]
    public void TestSplitIsTheStartOfThePermutationAndTrainTheRest()
    {
        int[] permutation = DatasetSplit.Permutation(15011, 42);
        var (train, test) = DatasetSplit.TrainTestSplit(15011, 0.1, 42);
        Assert.Equal(1502, test.Length); // ceil(0.1 * 15011) = ceil(1501.1000000000001)
        Assert.Equal(permutation[..1502], test);
        Assert.Equal(permutation[1502..], train);
    }

    [Fact]
    public void DefaultsAreATenthAndSeed42() =>
        Assert.Equal(DatasetSplit.TrainTestSplit(1000, 0.1, 42).Test, DatasetSplit.TrainTestSplit(1000).Test);

    [Fact]
    public void NoRowsGiveTwoEmptySplits()
    {
        var (train, test) = DatasetSplit.TrainTestSplit(0);
        Assert.Empty(train);
        Assert.Empty(test);
        Assert.Empty(DatasetSplit.Permutation(0, 42));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void TestSizeOutsideZeroToOneIsRefused(double testSize)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplit.TrainTestSplit(100, testSize));
        Assert.Equal("testSize", error.ParamName);
    }

    [Fact]
    public void NegativeCountIsRefused()
    {
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplit.TrainTestSplit(-1)).ParamName);
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplit.Permutation(-1, 0)).ParamName);
    }

    [Fact]
    public void ASplitThatLeavesNoTrainingRowsIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => DatasetSplit.TrainTestSplit(1, 0.1));
        Assert.Contains("1 rows", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => DatasetSplit.TrainTestSplit(10, 0.95));
        Assert.Equal(9, DatasetSplit.TrainTestSplit(10, 0.9).Test.Length);
    }

    /// <summary>Sizes and seeds the fixture lacks, against the installed NumPy when there is one.</summary>
    [SkippableFact]
    public void PermutationAgreesWithInstalledNumPyOnOtherSizesAndSeeds()
    {
        string? python = Python.Any.Value;
        Skip.If(python is null, "No python3 interpreter; skipped.");
        const string script = """
            import json, sys
            try:
                import numpy as np
            except ImportError:
                print("null"); sys.exit(0)
            cases = [(5, 7), (31, 2**31), (257, 99991), (4097, 2**40 + 3), (65536, 2**62), (123457, 31337)]
            print(json.dumps([[n, str(s), [int(v) for v in np.random.default_rng(s).permutation(n)]] for n, s in cases]))
            """;
        using var json = JsonDocument.Parse(Python.Run(python!, script));
        Skip.If(json.RootElement.ValueKind == JsonValueKind.Null, "NumPy is not installed; skipped.");
        foreach (var c in json.RootElement.EnumerateArray())
        {
            int n = c[0].GetInt32();
            ulong seed = ulong.Parse(c[1].GetString()!, CultureInfo.InvariantCulture);
            Assert.Equal(c[2].EnumerateArray().Select(e => e.GetInt32()), DatasetSplit.Permutation(n, seed));
        }
    }

    private static JsonElement SeedEntry(string seed) =>
        Expected.Value.RootElement.GetProperty("seeds").EnumerateArray().Single(s => s.GetProperty("seed").GetString() == seed);

    private static JsonElement Case(int n, string seed) =>
        Expected.Value.RootElement.GetProperty("cases").EnumerateArray()
            .Single(c => c.GetProperty("n").GetInt32() == n && c.GetProperty("seed").GetString() == seed);

    private static void AssertIndices(JsonElement expected, int[] actual, bool edges)
    {
        Assert.Equal(expected.GetProperty("length").GetInt32(), actual.Length);
        if (expected.TryGetProperty("values", out var values))
        {
            Assert.Equal(values.EnumerateArray().Select(e => e.GetInt32()), actual);
        }
        else if (edges)
        {
            var head = expected.GetProperty("head").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var tail = expected.GetProperty("tail").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(head, actual[..head.Length]);
            Assert.Equal(tail, actual[^tail.Length..]);
        }

        Assert.Equal(expected.GetProperty("sha256").GetString(), Sha256LittleEndian(actual));
    }

    private static string Sha256LittleEndian(int[] indices)
    {
        Assert.True(BitConverter.IsLittleEndian, "the fixture hashes little-endian int32 bytes");
        return Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(indices.AsSpan())));
    }
}
