using System.Collections.Concurrent;
using TorchSharp;

namespace NewLlm.Core.Tests;

/// <summary>How <see cref="RowParallel"/> cuts a batch's rows between threads.</summary>
public class RowParallelTests
{
    [Theory]
    [InlineData(520, 32)] // a ceiling-sized chunk (17) would make the last part start past the end
    [InlineData(100, 3)]
    [InlineData(15, 8)] // fewer rows than a thread's minimum: one part
    [InlineData(1, 1)]
    public void TheRangesCoverEveryRowOnceAndNoneIsEmpty(long rows, int threads)
    {
        int before = torch.get_num_threads();
        var ranges = new ConcurrentBag<(long Start, long Length)>();
        try
        {
            torch.set_num_threads(threads);
            RowParallel.For(rows, (start, length) => ranges.Add((start, length)));
            Assert.Equal(threads, torch.get_num_threads()); // given back after the loop
        }
        finally
        {
            torch.set_num_threads(before);
        }

        (long Start, long Length)[] sorted = [.. ranges.OrderBy(r => r.Start)];
        Assert.All(sorted, r => Assert.True(r.Length > 0, $"an empty or negative range {r}"));
        Assert.Equal(0, sorted[0].Start);
        for (int i = 1; i < sorted.Length; i++)
        {
            Assert.Equal(sorted[i - 1].Start + sorted[i - 1].Length, sorted[i].Start);
        }

        Assert.Equal(rows, sorted[^1].Start + sorted[^1].Length);
    }
}
