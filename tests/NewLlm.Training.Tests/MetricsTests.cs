using NewLlm.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Training.Tests;

public sealed class MetricsTests
{
    [Fact]
    public void AccumulatorWeightsEveryTokenOnce()
    {
        // Batch A: 1 target token, NLL 3.0; batch B: 3 tokens, NLL 1.0 each.
        var sums = new MetricAccumulator();
        sums.Add(totalNll: 3.0, correct: 0, tokens: 1, bytes: 10);
        sums.Add(totalNll: 3.0, correct: 3, tokens: 3, bytes: 30);
        EvaluationMetrics m = sums.ToMetrics();
        Assert.Equal(1.5, m.Loss, 12);                          // 6 nats / 4 tokens
        Assert.NotEqual((3.0 + 1.0) / 2, m.Loss);               // the per-batch mean the original reported
        Assert.Equal(Math.Exp(1.5), m.Perplexity, 12);
        Assert.Equal(0.75, m.Accuracy, 12);
        Assert.Equal(6.0 / Math.Log(2) / 40, m.BitsPerByte, 12); // nats -> bits, per byte
        Assert.Equal(4, m.TokenCount);
        Assert.Equal(40, m.ByteCount);
    }

    [Fact]
    public void EvaluationMatchesHandComputedSumsAndDoesNotDependOnBatchSize()
    {
        using var setup = new TinySetup(trainRows: 10, validationRows: 7);
        NewLlmModel model = setup.CreateModel();
        TokenizedCorpus corpus = setup.Validation;

        // By hand: one row at a time, log-softmax, sum over non-PAD targets.
        double nll = 0;
        long tokens = 0, correct = 0, bytes = 0;
        model.eval();
        using (torch.no_grad())
        {
            for (int i = 0; i < corpus.Count; i++)
            {
                int[] row = [.. corpus.GetTokens(i), .. Enumerable.Repeat(corpus.PadId, corpus.SequenceLength - corpus.GetLength(i))];
                using Tensor ids = torch.tensor(row.Select(x => (long)x).ToArray(), new long[] { 1, row.Length });
                using Tensor logp = model.call(ids.narrow(1, 0, row.Length - 1)).log_softmax(-1);
                float[] values = logp.data<float>().ToArray();
                int vocab = (int)logp.shape[2];
                for (int t = 0; t < row.Length - 1; t++)
                {
                    int target = row[t + 1];
                    if (target == corpus.PadId)
                    {
                        continue;
                    }

                    var slice = values.AsSpan(t * vocab, vocab);
                    nll -= slice[target];
                    tokens++;
                    int best = 0;
                    for (int v = 1; v < vocab; v++)
                    {
                        if (slice[v] > slice[best])
                        {
                            best = v;
                        }
                    }

                    correct += best == target ? 1 : 0;
                }

                bytes += corpus.GetByteCount(i);
            }
        }

        EvaluationMetrics one = Evaluator.Evaluate(model, corpus, batchSize: 1);
        EvaluationMetrics three = Evaluator.Evaluate(model, corpus, batchSize: 3);
        EvaluationMetrics all = Evaluator.Evaluate(model, corpus, batchSize: 100);
        foreach (EvaluationMetrics m in new[] { one, three, all })
        {
            Assert.Equal(tokens, m.TokenCount);
            Assert.Equal(bytes, m.ByteCount);
            Assert.Equal(nll / tokens, m.Loss, 4);
            Assert.Equal((double)correct / tokens, m.Accuracy, 6);
            Assert.Equal(nll / Math.Log(2) / bytes, m.BitsPerByte, 4);
        }
    }
}
