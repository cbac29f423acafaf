// The backward tape: gradient checks for every foundation op, accumulation rules, memory release,
// and misuse.
#include <map>
#include <string>
#include <vector>

#include "runtime/ops/basic.h"
#include "runtime/tape.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

class TapeGradients : public BackendTest {};

TEST_P(TapeGradients, ElementwiseOpsMatchFiniteDifferences) {
  Tensor a = random_tensor({3, 5}, 11, device()), b = random_tensor({3, 5}, 12, device());
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& x) { return add(x[0], x[1]); }, {a, b}));
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& x) { return sub(x[0], x[1]); }, {a, b}));
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& x) { return mul(x[0], x[1]); }, {a, b}));
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& x) { return scale(x[0], -3.0f); }, {a}));
  // The same tensor on both sides: its two gradient contributions must add up (d(a*a) = 2a).
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& x) { return mul(x[0], x[0]); }, {a}));
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& x) { return add(x[0], x[0]); }, {a}));
}

TEST_P(TapeGradients, ReductionsReshapeAndCopiesMatchFiniteDifferences) {
  Tensor a = random_tensor({4, 6}, 13, device());
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& x) { return sum(mul(x[0], x[0])); }, {a}));
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& x) { return mean(x[0]); }, {a}));
  Tensor one = random_tensor({1}, 20, device());
  EXPECT_TRUE(check_gradients([](const std::vector<Tensor>& x) { return expand_scalar(x[0], {3, 2}); }, {one}));
  EXPECT_TRUE(check_gradients(
      [](const std::vector<Tensor>& x) {
        return mul(reshape(x[0], {6, 4}), reshape(x[0], {6, 4}));
      },
      {a}));
  EXPECT_TRUE(
      check_gradients([](const std::vector<Tensor>& x) { return scale(to_device(x[0], Device::cpu()), 2.0f); }, {a}));
}

TEST_P(TapeGradients, MatmulMatchesFiniteDifferencesForEveryTranspose) {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      SCOPED_TRACE(::testing::Message() << "ta=" << ta << " tb=" << tb);
      Tensor a = random_tensor(ta ? Shape{5, 3} : Shape{3, 5}, 14, device());
      Tensor b = random_tensor(tb ? Shape{4, 5} : Shape{5, 4}, 15, device());
      EXPECT_TRUE(check_gradients(
          [ta, tb](const std::vector<Tensor>& x) { return matmul(x[0], x[1], ta == 1, tb == 1); }, {a, b}));
    }
}

TEST_P(TapeGradients, AChainOfOpsMatchesFiniteDifferences) {
  // loss = mean((x W - y)^2): the shape of a regression step.
  Tensor x = random_tensor({6, 4}, 16, device()), w = random_tensor({4, 3}, 17, device());
  Tensor y = random_tensor({6, 3}, 18, device());
  EXPECT_TRUE(check_gradients(
      [](const std::vector<Tensor>& in) {
        Tensor r = sub(matmul(in[0], in[1]), in[2]);
        return mean(mul(r, r));
      },
      {x, w, y}));
}

LVK_INSTANTIATE_BACKENDS(TapeGradients);

// The checker itself must be able to fail: an op whose recorded backward is off by a factor.
TEST(GradChecker, CatchesAWrongBackward) {
  auto wrong_double = [](const std::vector<Tensor>& in) {
    const Tensor& x = in[0];
    Tensor out = scale(x, 2.0f);
    if (Tape::wants({x})) {
      Tensor y = out.view(out.shape());  // a fresh id the tape can attach the wrong rule to
      Tape::recording()->record("wrong_double", {x}, {y},
                                [x, y](GradBook& book) { book.accumulate(x, scale(book.grad(y), 3.0f)); });
      return y;
    }
    return out;
  };
  Tensor x = random_tensor({5}, 19, Device::cpu());
  EXPECT_FALSE(check_gradients(wrong_double, {x}));
}

TEST(Tape, ParameterGradientsAccumulateAcrossBackwardPasses) {
  Tensor w = Tensor::from_vector<float>({1, 2, 3}, {3});
  w.set_requires_grad(true);
  for (int pass = 0; pass < 2; ++pass) {
    Tape tape;
    Tensor loss;
    {
      TapeRecording rec(tape);
      loss = sum(scale(w, 2.0f));
    }
    tape.backward(loss);
    EXPECT_EQ(tape.size(), 0u) << "backward consumes the tape";
  }
  EXPECT_EQ(w.grad().to_vector<float>(), (std::vector<float>{4, 4, 4}));
}

TEST(Tape, RecordsOnlyWhatNeedsGradients) {
  Tensor w = Tensor::from_vector<float>({1, 2}, {2}).set_requires_grad(true);
  Tensor c = Tensor::from_vector<float>({3, 4}, {2});
  Tape tape;
  {
    TapeRecording rec(tape);
    Tensor constant_only = add(c, c);
    EXPECT_FALSE(constant_only.requires_grad());
    EXPECT_EQ(tape.size(), 0u);
    Tensor y = mul(w, c);
    EXPECT_TRUE(y.requires_grad());
    {
      NoGrad pause;
      Tensor z = mul(w, c);
      EXPECT_FALSE(z.requires_grad());
    }
    EXPECT_EQ(tape.size(), 1u);
  }
  Tensor outside = mul(w, c);
  EXPECT_FALSE(outside.requires_grad()) << "no tape records outside a TapeRecording scope";
}

TEST(Tape, InputsThatDoNotRequireGradGetNone) {
  Tensor w = Tensor::from_vector<float>({1, 2}, {2}).set_requires_grad(true);
  Tensor c = Tensor::from_vector<float>({3, 4}, {2});
  Tape tape;
  Tensor loss;
  {
    TapeRecording rec(tape);
    loss = sum(mul(w, c));
  }
  tape.backward(loss);
  EXPECT_EQ(w.grad().to_vector<float>(), (std::vector<float>{3, 4}));
  EXPECT_FALSE(c.grad().defined());
}

TEST(Tape, TellsWhenEachLeafGradientIsFinal) {
  // loss = sum(a * b) + sum(2a) + sum(3c), recorded in that order: a is read by two nodes and is
  // final only after the earlier one has run; c's node runs first in backward, so c is final first.
  Tensor a = Tensor::from_vector<float>({1, 2}, {2}).set_requires_grad(true);
  Tensor b = Tensor::from_vector<float>({5, 7}, {2}).set_requires_grad(true);
  Tensor c = Tensor::from_vector<float>({1, 1}, {2}).set_requires_grad(true);
  Tape tape;
  Tensor loss;
  {
    TapeRecording rec(tape);
    Tensor ab = sum(mul(a, b));
    Tensor twice_a = sum(scale(a, 2.0f));
    Tensor thrice_c = sum(scale(c, 3.0f));
    loss = add(add(ab, twice_a), thrice_c);
  }
  std::vector<std::string> order;
  std::map<std::string, std::vector<float>> at_final;
  tape.on_leaf_gradient_final([&](const Tensor& leaf) {
    const std::string name = leaf.id() == a.id() ? "a" : leaf.id() == b.id() ? "b" : "c";
    order.push_back(name);
    at_final[name] = leaf.grad().to_vector<float>();
  });
  tape.backward(loss);
  EXPECT_EQ(order, (std::vector<std::string>{"c", "a", "b"}));
  // What the hook saw is the whole gradient: a gets b + 2 from both of its readers.
  EXPECT_EQ(at_final["a"], (std::vector<float>{7, 9}));
  EXPECT_EQ(at_final["b"], (std::vector<float>{1, 2}));
  EXPECT_EQ(at_final["c"], (std::vector<float>{3, 3}));
  EXPECT_EQ(a.grad().to_vector<float>(), at_final["a"]);
}

TEST(Tape, AGradientForALeafAfterItWasFinalIsAnError) {
  // An op whose backward writes to a leaf it did not list among its inputs breaks the promise the
  // hook relies on; the tape must say so instead of handing out a partial gradient.
  Tensor w = Tensor::from_vector<float>({1, 2}, {2}).set_requires_grad(true);
  Tensor x = Tensor::from_vector<float>({3, 4}, {2}).set_requires_grad(true);
  Tape tape;
  Tensor loss;
  {
    TapeRecording rec(tape);
    // Node 0 reads x but its backward also sends w a gradient; node 1 is w's only listed reader,
    // so w is final after node 1, and node 0 runs after that.
    Tensor out = scale(x, 1.0f);
    Tensor y = out.view(out.shape());
    Tape::recording()->record("unlisted_write", {x}, {y}, [w, x, y](GradBook& book) {
      book.accumulate(x, book.grad(y));
      book.accumulate(w, book.grad(y));
    });
    loss = add(sum(y), sum(scale(w, 2.0f)));
  }
  tape.on_leaf_gradient_final([](const Tensor&) {});
  EXPECT_LVK_ERROR(tape.backward(loss), "arrived after its gradient was declared final");
}

TEST(Tape, RejectsMisuse) {
  Tensor w = Tensor::from_vector<float>({1, 2}, {2}).set_requires_grad(true);
  Tape tape;
  Tensor y;
  {
    TapeRecording rec(tape);
    y = scale(w, 2.0f);
    EXPECT_LVK_ERROR(tape.backward(sum(y)), "stop recording");
  }
  EXPECT_LVK_ERROR(tape.backward(y), "the loss must have one element, got f32[2]");
  EXPECT_LVK_ERROR(tape.backward(y, Tensor::zeros({3})), "backward: shape mismatch, [2] vs [3]");
  EXPECT_LVK_ERROR(tape.backward(sum(Tensor::zeros({2}))), "does not depend on anything that requires grad");
}

}  // namespace
}  // namespace lvk::test
