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
        Assert.Equal(2, sums.Batches);
        Assert.Equal((3.0 + 1.0) / 2, m.BatchMeanLoss, 12);     // the original's figure: batch means 3.0 and 1.0
        Assert.Equal(Math.Exp(2.0), m.BatchMeanPerplexity, 12);
    }

    [Fact]
    public void ABatchWithoutCountedTargetsHasNoMeanAndIsLeftOutOfTheBatchMean()
    {
        var sums = new MetricAccumulator();
        sums.Add(totalNll: 4.0, correct: 0, tokens: 2, bytes: 5);
        sums.Add(totalNll: 0.0, correct: 0, tokens: 0, bytes: 0);
        sums.Add(totalNll: 1.0, correct: 1, tokens: 1, bytes: 5);
        Assert.Equal(2, sums.Batches);
        Assert.Equal((2.0 + 1.0) / 2, sums.BatchMeanLoss, 12);
        Assert.Equal(5.0 / 3, sums.MeanLoss, 12);
        Assert.True(double.IsNaN(new MetricAccumulator().ToMetrics().BatchMeanLoss));
    }

    [Fact]
    public void TheBatchMeanLossIsTheOriginalTrainersMeanOfPerBatchMeansComputedByHand()
    {
        // The original's evaluate(): for each batch of the validation loader, in order, F.cross_entropy(logits, targets,
        // ignore_index=PAD) (the batch's mean over its non-PAD targets), then total / number of batches. Done here with
        // torch's own cross-entropy on whole padded batches, as the original did, not with the library's loss.
        // The model is made to predict "fine" with high probability, so that rows full of "fine" have a low mean loss
        // and the others a high one: batches of different lengths and losses, where the two figures differ.
        using var setup = new TinySetup();
        NewLlmModel model = setup.CreateModel();
        FavourWord(model, setup.Tokenizer, "fine", 6.0);
        string[] texts =
        [
            "Human: fine fine fine fine fine fine fine Assistant: fine fine",
            "Human: how are you Assistant: good",
            "Human: hello Assistant: bad",
            "Human: fine fine Assistant: fine",
            "Human: what is the weather today Assistant: sunny rain",
            "Human: fine fine fine fine Assistant: fine fine fine",
            "Human: hello there Assistant: fine",
        ];
        TokenizedCorpus corpus = TokenizedCorpus.Build(texts, setup.Tokenizer, new TokenizedCorpusOptions { MaxSequenceLength = 16 });
        const int batchSize = 3;
        var batchMeans = new List<double>();
        double totalNll = 0;
        long totalTokens = 0;
        model.eval();
        using (torch.no_grad())
        {
            for (int start = 0; start < corpus.Count; start += batchSize)
            {
                int[] rows = Enumerable.Range(start, Math.Min(batchSize, corpus.Count - start)).ToArray();
                long[] ids = rows.SelectMany(r => corpus.GetTokens(r).ToArray().Concat(Enumerable.Repeat(corpus.PadId, corpus.SequenceLength - corpus.GetLength(r)))).Select(x => (long)x).ToArray();
                using Tensor all = torch.tensor(ids, new long[] { rows.Length, corpus.SequenceLength });
                using Tensor inputs = all.narrow(1, 0, corpus.SequenceLength - 1);
                using Tensor targets = all.narrow(1, 1, corpus.SequenceLength - 1);
                using Tensor logits = model.call(inputs);
                using Tensor flat = logits.view(-1, logits.shape[2]);
                using Tensor mean = torch.nn.functional.cross_entropy(flat, targets.reshape(-1), ignore_index: corpus.PadId);
                using Tensor sum = torch.nn.functional.cross_entropy(flat, targets.reshape(-1), ignore_index: corpus.PadId, reduction: nn.Reduction.Sum);
                batchMeans.Add(mean.item<float>());
                totalNll += sum.item<float>();
                totalTokens += targets.ne(corpus.PadId).sum().item<long>();
            }
        }

        double original = batchMeans.Average();
        double tokenWeighted = totalNll / totalTokens;
        Assert.Equal(3, batchMeans.Count); // 3 + 3 + 1 rows
        Assert.Equal(texts.Length, corpus.Count);
        EvaluationMetrics m = Evaluator.Evaluate(model, corpus, batchSize);
        Assert.Equal(original, m.BatchMeanLoss, 5);
        Assert.Equal(Math.Exp(original), m.BatchMeanPerplexity, 4);
        Assert.Equal(tokenWeighted, m.Loss, 5);
        Assert.True(Math.Abs(original - tokenWeighted) > 0.1, $"the corpus must tell the figures apart: {original} vs {tokenWeighted}");

        // One batch holding everything: the mean of one batch mean is the token-weighted loss.
        EvaluationMetrics whole = Evaluator.Evaluate(model, corpus, batchSize: 100);
        Assert.Equal(whole.Loss, whole.BatchMeanLoss, 9);
    }

    [Fact]
    public void PerTokenPreferenceAccuracyNormalisesByLengthWhereTheSumFavoursTheShorterText()
    {
        // Every chosen text is its rejected text with "fine" words before EOS, and the model is made to prefer "fine"
        // (loss about 0.8 nats, against about 3.8 for any other word): each extra target adds NLL (so the chosen sum is
        // always higher and the summed accuracy is 0) and lowers the mean per target (so the per-token accuracy is 1).
        using var setup = new TinySetup();
        NewLlmModel model = setup.CreateModel();
        FavourWord(model, setup.Tokenizer, "fine", 3.0);
        string[] rejected = ["Human: how are you Assistant: good", "Human: what is the weather today Assistant: sunny", "Human: hello Assistant: bad rain"];
        var rows = rejected.Select(r => new HhRlhfRow(r + " fine fine fine fine", r)).ToList();
        var options = new TokenizedCorpusOptions { MaxSequenceLength = 24 };
        var pairs = TokenizedPreferencePairs.Build(HhRlhfDataset.FromRows(rows), setup.Tokenizer, options);
        for (int i = 0; i < pairs.Count; i++)
        {
            Assert.Equal(pairs.GetRejectedLength(i) + 4, pairs.GetChosenLength(i)); // nothing cut at 24
        }

        PreferenceAccuracies accuracies = Evaluator.PreferenceAccuracies(model, pairs, pairs.PadId, batchSize: 2);
        Assert.Equal(0.0, accuracies.Summed);
        Assert.Equal(1.0, accuracies.PerToken);
        Assert.Equal(accuracies.Summed, Evaluator.PreferenceAccuracy(model, pairs, pairs.PadId, batchSize: 3));

        EvaluationMetrics m = Evaluator.Evaluate(model, setup.Validation, batchSize: 4, pairs);
        Assert.Equal(0.0, m.PreferenceAccuracy);
        Assert.Equal(1.0, m.PerTokenPreferenceAccuracy);
    }

    // Adds to the output bias of one word, so that the model predicts it more often.
    private static void FavourWord(NewLlmModel model, WordLevelTokenizer tokenizer, string word, double amount)
    {
        int id = tokenizer.GetId(word);
        Assert.NotEqual(tokenizer.GetId("not-in-the-vocabulary"), id);
        using var noGrad = torch.no_grad();
        model.named_parameters().Single(p => p.name == "token_output.bias").parameter[id].add_(amount);
    }

    [Fact]
    public void PreferenceAccuraciesMatchSumsAndMeansComputedByHand()
    {
        using var setup = new TinySetup(trainRows: 10, validationRows: 12, seed: 11);
        NewLlmModel model = setup.CreateModel();
        var rows = setup.ValidationTexts.Select((t, i) => new HhRlhfRow(t, setup.TrainTexts[i % setup.TrainTexts.Length])).ToList();
        var options = new TokenizedCorpusOptions { MaxSequenceLength = 12 };
        var pairs = TokenizedPreferencePairs.Build(HhRlhfDataset.FromRows(rows), setup.Tokenizer, options);
        model.eval();
        (double Sum, int Count) Nll(ReadOnlySpan<int> kept)
        {
            int[] row = kept.ToArray();
            using var noGrad = torch.no_grad();
            using Tensor ids = torch.tensor(row.Select(x => (long)x).ToArray(), new long[] { 1, row.Length });
            using Tensor logp = model.call(ids.narrow(1, 0, row.Length - 1)).log_softmax(-1);
            float[] values = logp.data<float>().ToArray();
            int vocab = (int)logp.shape[2];
            double sum = 0;
            for (int t = 0; t < row.Length - 1; t++)
            {
                sum -= values[(t * vocab) + row[t + 1]];
            }

            return (sum, row.Length - 1);
        }

        int summed = 0, perToken = 0;
        for (int i = 0; i < pairs.Count; i++)
        {
            (double cs, int cn) = Nll(pairs.GetChosen(i));
            (double rs, int rn) = Nll(pairs.GetRejected(i));
            summed += cs < rs ? 1 : 0;
            perToken += cs / cn < rs / rn ? 1 : 0;
        }

        PreferenceAccuracies accuracies = Evaluator.PreferenceAccuracies(model, pairs, pairs.PadId, batchSize: 5);
        Assert.Equal((double)summed / pairs.Count, accuracies.Summed, 12);
        Assert.Equal((double)perToken / pairs.Count, accuracies.PerToken, 12);
        Assert.NotEqual(summed, perToken); // this data tells the two apart
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
